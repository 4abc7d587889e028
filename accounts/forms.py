"""Forms of the customers' self-service pages: plain values in, checked at the edge."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .actions.self_service import (
    RECENT_TRANSACTION,
    SecondFactorAnswer,
    parse_contact,
    validate_payment_password,
)
from .app_identity import MAX_TOKEN_LENGTH


class ContactForm(forms.Form):
    contact = forms.CharField(
        label=_("Registered phone number or email"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "inputmode": "email", "autofocus": True}
        ),
    )

    def clean_contact(self):
        parse_contact(self.cleaned_data["contact"])  # the format only, never the wallet
        return self.cleaned_data["contact"].strip()


class ChannelForm(forms.Form):
    """A signed-in customer picks which registered contact gets the code."""

    channel = forms.ChoiceField(label=_("Send the code to"), choices=[], widget=forms.RadioSelect)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = list(choices)
        if choices:
            self.fields["channel"].initial = choices[0][0]


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{6}",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise ValidationError(_("The code is 6 digits."))
        return code


def _pin_widget(autofocus=False):
    attrs = {
        "inputmode": "numeric",
        "autocomplete": "new-password",
        "pattern": "[0-9]{6}",
        "maxlength": 6,
    }
    if autofocus:
        attrs["autofocus"] = True
    return forms.PasswordInput(attrs=attrs)


class PaymentPasswordForm(forms.Form):
    password1 = forms.CharField(
        label=_("New payment password"), strip=False, widget=_pin_widget(autofocus=True)
    )
    password2 = forms.CharField(label=_("The same again"), strip=False, widget=_pin_widget())

    def clean_password1(self):
        value = self.cleaned_data["password1"]
        validate_payment_password(value)
        return value

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords are not the same."))
        return data


class NewContactForm(forms.Form):
    contact = forms.CharField(
        label=_("New phone number or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"inputmode": "email", "autofocus": True}),
    )

    def clean_contact(self):
        parse_contact(self.cleaned_data["contact"])
        return self.cleaned_data["contact"].strip()


class TwoCodesForm(forms.Form):
    old_code = forms.CharField(
        label=_("Code sent to your current contact"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )
    new_code = forms.CharField(
        label=_("Code sent to your new contact"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class AppSignInForm(forms.Form):
    """The token the sign-in page's script read from the address's fragment."""

    app_token = forms.CharField(max_length=MAX_TOKEN_LENGTH, widget=forms.HiddenInput)


class SecondFactorForm(forms.Form):
    """The reset's second question, as the SELF_SERVICE_SECOND_FACTOR policy asks it."""

    id_last4 = forms.RegexField(
        label=_("Last 4 characters of your ID number"),
        regex=r"^\s*[0-9]{3}[0-9Xx]\s*$",
        error_messages={"invalid": _("Enter the last 4 characters of your ID number.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "maxlength": 4, "autofocus": True, "size": 6}
        ),
    )
    amount = forms.DecimalField(
        label=_("Amount of a recent payment (yuan)"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autofocus": True}),
    )
    merchant = forms.CharField(label=_("Where you paid (merchant)"), max_length=200)

    def __init__(self, *args, policy: str, **kwargs):
        super().__init__(*args, **kwargs)
        if policy == RECENT_TRANSACTION:
            del self.fields["id_last4"]
        else:
            del self.fields["amount"]
            del self.fields["merchant"]

    def answer(self) -> SecondFactorAnswer:
        data = self.cleaned_data
        return SecondFactorAnswer(
            id_last4=data.get("id_last4", "").strip(),
            amount=data.get("amount"),
            merchant=data.get("merchant", ""),
        )
