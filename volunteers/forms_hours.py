"""Portal forms of service hours: they check the shape of the input; the services check the rules."""

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity.models import Organization

from .models import TITLE_MAX


def organisers_for(community):
    """Organisations that may have organised service in `community`: based there or serving it."""
    return (
        Organization.objects.filter(Q(area=community) | Q(served_areas=community)).distinct().order_by("name")
    )


class SelfReportForm(forms.Form):
    organizer = forms.ModelChoiceField(
        label=_("Who organised the service (they confirm the hours)"), queryset=Organization.objects.none()
    )
    content = forms.CharField(label=_("What did you do?"), max_length=TITLE_MAX)
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("Until"), widget=forms.TimeInput(attrs={"type": "time"}))
    hours = forms.DecimalField(
        label=_("Hours actually served (optional, in quarter hours: 1.25, 1.5…)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        help_text=_("Leave empty to count the whole time between start and end. Travel does not count."),
    )

    def __init__(self, *args, community=None, **kwargs):
        super().__init__(*args, **kwargs)
        if community is not None:
            self.fields["organizer"].queryset = organisers_for(community)

    def clean(self):
        data = super().clean()
        day, start, end = data.get("day"), data.get("start"), data.get("end")
        if day and start and end:
            data["started_at"] = timezone.make_aware(datetime.datetime.combine(day, start))
            data["ended_at"] = timezone.make_aware(datetime.datetime.combine(day, end))
        hours = data.get("hours")
        data["minutes"] = None if hours is None else int(hours * 60) if hours * 60 == int(hours * 60) else -1
        if data["minutes"] == -1:
            self.add_error(
                "hours", _("Service hours are recorded in quarter hours (15, 30, 45 or 60 minutes…).")
            )
        return data


class VerifyForm(forms.Form):
    number = forms.CharField(label=_("Certificate number"), max_length=60)
