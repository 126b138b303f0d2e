"""Portal forms of allocation proposals: they check the shape of the input; the services check the rules
(who may vote or object, when, how long a reason may be) and say why in their own words."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Ballot

CHOICE_MESSAGE = _("Vote yes, no or abstain.")


class VoteForm(forms.Form):
    # The three choices are three submit buttons named "choice" (templates/governance/proposal_vote.html).
    choice = forms.ChoiceField(
        choices=Ballot.Choice.choices,
        error_messages={"required": CHOICE_MESSAGE, "invalid_choice": CHOICE_MESSAGE},
    )
    # No max_length on the fields: the service says how long it may be.
    reason = forms.CharField(
        label=_("Your reason (optional, shown with your vote)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )


class ConflictForm(forms.Form):
    note = forms.CharField(
        label=_("What is the conflict of interest?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,  # the service says "Say what the conflict is."
    )


class ObjectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you object?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,  # the service says "Say why you object."
        help_text=_("Shown on this page with the committee's answer, without your name."),
    )
