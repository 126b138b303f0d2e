"""Portal forms of events: signing up as a participant or in a volunteer role."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SignUpForm(forms.Form):
    """What a resident gives when signing up; the services check the rules (age, guardian, places).

    A volunteer role's button posts the role's id as `role` (read by the view, not a field of this form)."""

    participant_age = forms.IntegerField(
        label=_("Age of the participant (if under 18)"),
        required=False,
        min_value=0,
        max_value=130,
        help_text=_("Children under 14 sign up with a parent or guardian."),
        error_messages={"invalid": _("Enter the participant's age in whole years.")},
    )
    guardian_name = forms.CharField(
        label=_("Parent or guardian who comes along"), required=False, max_length=50
    )
