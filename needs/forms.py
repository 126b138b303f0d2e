"""Portal forms of the needs registry: post a need, offer help. Rules live in needs.services."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.models import Category, Organization
from resources.models import Resource

from .models import DESCRIPTION_MAX, MESSAGE_MAX, SUMMARY_MAX, Need


class NeedPostForm(forms.Form):
    category = forms.ModelChoiceField(
        label=_("What kind of help"), queryset=Category.objects.filter(is_active=True), empty_label=None
    )
    sub_kind = forms.ChoiceField(label=_("What is needed"), choices=Need.SubKind.choices)
    summary = forms.CharField(
        label=_("Say in a sentence or two what is needed"),
        max_length=SUMMARY_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Everyone can read this. Do not write names, phone numbers, ID numbers or your address here."
        ),
    )
    description = forms.CharField(
        label=_("More about it (optional, also public)"),
        max_length=DESCRIPTION_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    quantity = forms.IntegerField(label=_("How many (optional)"), required=False)
    unit = forms.CharField(label=_("Unit, e.g. 床, 次, 处 (optional)"), max_length=20, required=False)
    beneficiary_count = forms.IntegerField(label=_("For how many people"), initial=1)
    urgency = forms.ChoiceField(
        label=_("How soon"), choices=Need.Urgency.choices, initial=Need.Urgency.ROUTINE
    )
    needed_by = forms.DateField(
        label=_("Needed by (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    address = forms.CharField(
        label=_("Where help should come (optional, never public)"),
        max_length=500,
        required=False,
        help_text=_("Only community staff can read this. It is locked away (encrypted)."),
    )
    share_with = forms.ModelMultipleChoiceField(
        label=_("May these helping organisations also see where help should come?"),
        queryset=Organization.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick only the ones you agree to. You can say no: staff will still read your request."),
    )
    agree_publish = forms.BooleanField(
        label=_("I agree that the public part above is shown on this website, so neighbours can offer help."),
        required=True,
    )

    def __init__(self, *args, community=None, **kwargs):
        super().__init__(*args, **kwargs)
        if community is not None:
            self.fields["share_with"].queryset = Organization.objects.filter(
                type=Organization.Type.HUB, served_areas=community
            ).order_by("name")

    def clean_needed_by(self):
        value = self.cleaned_data.get("needed_by")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError(
                _("The date it is needed by has already passed: choose today or a later day.")
            )
        if value is not None and value > timezone.localdate() + datetime.timedelta(days=3650):
            raise forms.ValidationError(_("Choose a date within the next ten years."))
        return value


class OfferForm(forms.Form):
    message = forms.CharField(
        label=_("A short message to the person (optional)"),
        max_length=MESSAGE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example when you are free. Staff and the person who asked will see it."),
    )
    resource = forms.ModelChoiceField(
        label=_("Something you offered that would help (optional)"),
        queryset=Resource.objects.none(),
        required=False,
        empty_label=_("nothing in particular"),
        error_messages={"invalid_choice": _("Choose one of your own resources that is still available.")},
    )

    def __init__(self, *args, person=None, **kwargs):
        """`person`'s own available resources are the choices (none for a login without a resident)."""
        super().__init__(*args, **kwargs)
        own = Resource.objects.none()
        if person is not None:
            own = Resource.objects.filter(owner_person=person, status=Resource.Status.AVAILABLE).order_by(
                "title", "id"
            )
        self.fields["resource"].queryset = own
        if not own.exists():
            del self.fields["resource"]  # nothing to choose: no list of one "nothing" on the page

    def clean(self):
        cleaned = super().clean()
        if "resource" not in self.fields and (self.data.get("resource") or "").strip():
            # Sent anyway (someone else's, or one used up since): refused like a wrong choice.
            raise forms.ValidationError(
                self.base_fields["resource"].error_messages["invalid_choice"], code="invalid_choice"
            )
        return cleaned
