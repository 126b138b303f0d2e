"""Portal forms of residents' topics: they take the input; governance.topics checks it (how long, no phone
numbers, who may write) and says what is wrong in its own words, so no limit is written twice."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Topic


class RaiseTopicForm(forms.Form):
    title = forms.CharField(
        label=_("Your idea in a few words"),
        required=False,  # the service says "Give the topic a short title."
        help_text=_("For example: a dance team for the evenings, a reading corner, a small garden."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    description = forms.CharField(
        label=_("Tell your neighbours more"),
        required=False,
        help_text=_("What would you like to happen, and why? Shown on the website: no phone numbers."),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    category = forms.ChoiceField(
        label=_("What is it about?"),
        choices=[("", _("Choose one")), *Topic.Category.choices],
        required=False,  # the service says "Choose what the topic is about."
    )


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("Your comment"),
        required=False,  # the service says "Write your comment first."
        help_text=_("Shown on this page without your name."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
