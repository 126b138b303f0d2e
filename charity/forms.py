"""Portal forms: resident sign-up and log-in by mobile number."""

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Area
from .validators import normalize_mobile


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=50)
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    community = forms.ModelChoiceField(
        label=_("Your community"),
        queryset=Area.objects.filter(level=Area.Level.COMMUNITY).order_by("path"),
        empty_label=_("Choose your community"),
    )
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not only digits."),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    consent = forms.BooleanField(
        label=_(
            "I agree that the neighbourhood committee keeps my name and mobile number to run this "
            "platform, and shows neither to the public."
        ),
        error_messages={"required": _("You need to agree before signing up.")},
    )

    def clean_mobile(self):
        try:
            return normalize_mobile(self.cleaned_data["mobile"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0], code="invalid_mobile")

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password1")
            and cleaned.get("password2")
            and cleaned["password1"] != cleaned["password2"]
        ):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class MobileLoginForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        raw, password = cleaned.get("mobile"), cleaned.get("password")
        if raw and password:
            try:
                username = normalize_mobile(raw)
            except ValidationError:
                username = raw.strip()  # staff log in with a username, residents with a mobile number
            self.user_cache = authenticate(self.request, username=username, password=password)
            if self.user_cache is None or not self.user_cache.is_active:
                raise forms.ValidationError(
                    _("The mobile number or password is not right. Please check and try again."),
                    code="invalid_login",
                )
        return cleaned

    def get_user(self):
        return self.user_cache
