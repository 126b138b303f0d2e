"""Portal forms: they check the shape of the input; the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from charity.models import Category

from .models import DESCRIPTION_MAX, HELP_KINDS, TITLE_MAX, UNIT_MAX, Resource

# What a resident may offer on the portal: a money pledge is recorded with staff (it needs a fund and a
# receipt), and tools join the library at the loan desk.
PORTAL_KINDS = [
    (k, label)
    for k, label in Resource.Kind.choices
    if k not in (Resource.Kind.MONEY_PLEDGE, Resource.Kind.TOOL)
]


class OfferForm(forms.Form):
    kind = forms.ChoiceField(label=_("What do you offer?"), choices=PORTAL_KINDS)
    title = forms.CharField(label=_("In a few words"), max_length=TITLE_MAX)
    # No max_length on the field: the service says how long it may be, with the length entered.
    description = forms.CharField(
        label=_("More about it (optional)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Who could it help?"),
        queryset=Category.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    quantity = forms.IntegerField(label=_("How many?"), initial=1)
    unit = forms.CharField(label=_("Unit (pieces, hours…)"), max_length=UNIT_MAX, required=False)
    reach = forms.ChoiceField(label=_("How far may it go?"), choices=Resource.Reach.choices)
    available_from = forms.DateField(
        label=_("Available from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    available_until = forms.DateField(
        label=_("Available until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    for_exchange = forms.BooleanField(
        label=_("Give it away in the second-hand exchange (goods only)"), required=False
    )
    help_kinds = forms.MultipleChoiceField(
        label=_("What kinds of help can you give? (a skill or your time only)"),
        choices=HELP_KINDS,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    description_max = DESCRIPTION_MAX
