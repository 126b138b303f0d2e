"""Portal forms of volunteer registration: they check the shape of the input; the services check the rules."""

import datetime
import re

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.models import Organization

from .models import Volunteer

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
# Parts of the day a resident ticks instead of typing times (what most people can say about themselves).
PARTS_OF_DAY = {
    "morning": (datetime.time(8, 0), datetime.time(12, 0), _("morning")),
    "afternoon": (datetime.time(14, 0), datetime.time(18, 0), _("afternoon")),
    "evening": (datetime.time(19, 0), datetime.time(21, 0), _("evening")),
}
# Grouped by day: the widget draws a week as a small table (a row a day, a column a part of the day).
SLOT_CHOICES = [
    (day_label, [(f"{day}-{part}", label) for part, (_start, _end, label) in PARTS_OF_DAY.items()])
    for day, day_label in WEEKDAYS
]


class WeekWidget(forms.CheckboxSelectMultiple):
    """Ticks in a table of the week: plain HTML, no JavaScript, readable on a phone."""

    template_name = "volunteers/volunteer_week_widget.html"
    # Not "checkbox": the portal's form snippet would wrap the whole table in one label.
    input_type = "week"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["parts"] = [label for _start, _end, label in PARTS_OF_DAY.values()]
        return context

    def render(self, name, value, attrs=None, renderer=None):
        # The project's templates (the form renderer looks only in the apps' and Django's own).
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


_SLOT_RE = re.compile(r"^([0-6])-(morning|afternoon|evening)$")


def slots_from_choices(values) -> list[tuple[int, datetime.time, datetime.time]]:
    slots = []
    for value in values or ():
        match = _SLOT_RE.match(value)
        if match:
            start, end, _label = PARTS_OF_DAY[match[2]]
            slots.append((int(match[1]), start, end))
    return slots


def choices_from_slots(slots) -> list[str]:
    chosen = []
    for slot in slots:
        for part, (start, end, _label) in PARTS_OF_DAY.items():
            if slot.start_time == start and slot.end_time == end:
                chosen.append(f"{slot.weekday}-{part}")
    return chosen


class TeamChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class VolunteerDetailsForm(forms.Form):
    skills = forms.CharField(
        label=_("What can you do? (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: counselling, first aid, photography, dancing, teaching children."),
    )
    teams = TeamChoiceField(
        label=_("Join a volunteer team (optional)"),
        queryset=Organization.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    availability = forms.MultipleChoiceField(
        label=_("When are you usually free? (optional)"),
        choices=SLOT_CHOICES,
        widget=WeekWidget,
        required=False,
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = teams if teams is not None else Organization.objects.none()
        if teams is not None and not teams.exists():
            del self.fields["teams"]


class RegistrationForm(VolunteerDetailsForm):
    id_type = forms.ChoiceField(label=_("Your ID document"), choices=Volunteer.IdType.choices)
    # No max_length: the service says what is wrong with the number, in words.
    id_number = forms.CharField(
        label=_("ID number"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}),
    )
    birth_date = forms.DateField(
        label=_("Date of birth (only if your document is not a resident identity card)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    guardian_name = forms.CharField(
        label=_("Parent or guardian's name (volunteers under 14)"), required=False, max_length=50
    )
    guardian_relation = forms.CharField(
        label=_("How they are related to you (e.g. mother)"), required=False, max_length=20
    )
    guardian_consent = forms.BooleanField(
        label=_("My parent or guardian agrees that I register as a volunteer"), required=False
    )
    agree = forms.BooleanField(
        label=_("I register under my real name and agree that my ID number is kept for this purpose"),
        required=True,
        error_messages={"required": _("Please tick this box to register.")},
    )

    field_order = [
        "id_type",
        "id_number",
        "birth_date",
        "skills",
        "teams",
        "availability",
        "guardian_name",
        "guardian_relation",
        "guardian_consent",
        "agree",
    ]

    def clean_id_number(self):
        value = self.cleaned_data["id_number"]
        if len(value) > 100:
            raise forms.ValidationError(gettext("This is not an ID number: it is far too long."))
        return value


class LeaveForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Yes, I stop volunteering"),
        error_messages={"required": _("Tick the box to confirm.")},
    )
