"""The portal's rating form of a service project: it checks the shape; the service checks the rules (who may
rate, once, from the start on) and says why in its own words."""

from django import forms
from django.utils.translation import gettext_lazy as _

RATING_MESSAGE = _("Choose a rating from 1 to 5.")


class RatingForm(forms.Form):
    # The five ratings are five submit buttons named "rating" (templates/governance/projects/project.html).
    rating = forms.TypedChoiceField(
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        error_messages={"required": RATING_MESSAGE, "invalid_choice": RATING_MESSAGE},
    )
    # No max_length: the service says how long it may be.
    comment = forms.CharField(
        label=_("Your comment (optional, shown without your name)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
