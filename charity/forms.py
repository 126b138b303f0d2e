"""Portal forms: sign-up in two steps (the number, then the code and the rest), log-in by mobile number,
password change and reset."""

from django import forms
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Area, NotificationKind
from .validators import normalize_mobile


def _password_field(label, autocomplete="new-password", help_text=""):
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        help_text=help_text,
    )


NEW_PASSWORD_HELP = _("At least 8 characters, not only digits.")


class TwoPasswordsMixin:
    """Two password fields that must be the same: `first` and `second`."""

    first, second = "password1", "password2"

    def clean(self):
        cleaned = super().clean()
        one, two = cleaned.get(self.first), cleaned.get(self.second)
        if one and two and one != two:
            self.add_error(self.second, _("The two passwords differ."))
        return cleaned


class MobileForm(forms.Form):
    """The first step of sign-up and of a password reset: the number the code goes to."""

    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel", "autofocus": True}),
    )

    def clean_mobile(self):
        try:
            return normalize_mobile(self.cleaned_data["mobile"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0], code="invalid_mobile")


class CodeField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(
            label=_("Code from the message"),
            max_length=12,
            widget=forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
            ),
            **kwargs,
        )


class SignUpForm(TwoPasswordsMixin, forms.Form):
    """The second step of sign-up: the code proves the number; then who and where the resident is."""

    code = CodeField()
    name = forms.CharField(label=_("Your name"), max_length=50)
    community = forms.ModelChoiceField(
        label=_("Your community"),
        queryset=Area.objects.filter(level=Area.Level.COMMUNITY).order_by("path"),
        empty_label=_("Choose your community"),
    )
    password1 = _password_field(_("Password"), help_text=NEW_PASSWORD_HELP)
    password2 = _password_field(_("Password again"))
    consent = forms.BooleanField(
        label=_(
            "I have read the privacy notice and agree that the neighbourhood committee keeps my name, mobile "
            "number and community to run this platform, and shows none of them to the public."
        ),
        error_messages={"required": _("You need to agree before signing up.")},
    )


class MobileLoginForm(forms.Form):
    mobile = forms.CharField(
        label=_("Mobile number"),
        max_length=150,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "username", "autofocus": True}),
    )
    password = _password_field(_("Password"), autocomplete="current-password")

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


class PasswordResetForm(TwoPasswordsMixin, forms.Form):
    """The second step of a password reset: the code, and the new password twice."""

    first, second = "new_password1", "new_password2"

    code = CodeField()
    new_password1 = _password_field(_("New password"), help_text=NEW_PASSWORD_HELP)
    new_password2 = _password_field(_("New password again"))


class PasswordChangeForm(TwoPasswordsMixin, forms.Form):
    first, second = "new_password1", "new_password2"

    old_password = _password_field(_("Current password"), autocomplete="current-password")
    new_password1 = _password_field(_("New password"), help_text=NEW_PASSWORD_HELP)
    new_password2 = _password_field(_("New password again"))


class StaffSetPasswordForm(TwoPasswordsMixin, forms.Form):
    """Staff set a new password for a resident who cannot receive a code."""

    first, second = "new_password1", "new_password2"

    new_password1 = _password_field(_("New password"), help_text=NEW_PASSWORD_HELP)
    new_password2 = _password_field(_("New password again"))


class NotificationSettingsForm(forms.Form):
    """Which kinds of notices also go to the person's mobile: ticked = send, unticked = inbox only."""

    kinds = forms.MultipleChoiceField(
        label=_("Also send these to my mobile as a text message"),
        choices=NotificationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("That kind of notice does not exist. Tick from the list.")},
    )


class DeleteAccountForm(forms.Form):
    """Deleting one's own account: the password proves it is the person, the box that they mean it."""

    confirm = forms.BooleanField(
        label=_("I understand that my account is deleted for good and cannot be brought back."),
        error_messages={"required": _("Tick the box to say you understand.")},
    )
    password = _password_field(_("Your password"), autocomplete="current-password")
