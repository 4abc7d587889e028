"""Forms of the ticket page's security panel: untrusted input checked here, then handed to
accounts.actions.security as plain values. Every form names the wallet it acts on; the
view makes sure that wallet is the ticket customer's."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import CodeDevice


class WalletForm(forms.Form):
    account = forms.IntegerField(widget=forms.HiddenInput)


def _text(label, *, required=False, max_length=200, **attrs):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.TextInput(attrs={"autocomplete": "off", **attrs}),
    )


class ConfirmForm(WalletForm):
    channel = forms.ChoiceField(
        label=_("Send a confirmation link by"), choices=CodeDevice.Channel.choices
    )


class VerifyForm(WalletForm):
    phone = _text(_("Registered phone"), max_length=32, inputmode="tel")
    email = _text(_("Registered email"), max_length=254)
    transaction_amount = forms.DecimalField(
        label=_("A recent payment: amount"),
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "0.01", "autocomplete": "off"}),
    )
    transaction_date = forms.DateField(
        label=_("day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    transaction_merchant = _text(_("merchant"))

    def answers(self) -> dict:
        data = self.cleaned_data
        return {
            "phone": data["phone"],
            "email": data["email"],
            "transaction_amount": data["transaction_amount"],
            "transaction_date": data["transaction_date"],
            "transaction_merchant": data["transaction_merchant"],
        }


class StepUpForm(forms.Form):
    token = _text(
        _("Your authenticator code"),
        required=True,
        max_length=10,
        inputmode="numeric",
        pattern="[0-9 ]*",
    )


class ReasonForm(WalletForm):
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=1000, widget=forms.TextInput()
    )


class RequiredReasonForm(WalletForm):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.TextInput())


class NationalIdForm(RequiredReasonForm):
    new_id = _text(_("New national ID number"), required=True, max_length=18)


CONTACT_KINDS = [("phone", _("Phone")), ("email", _("Email"))]


class ContactConfirmForm(WalletForm):
    kind = forms.ChoiceField(label=_("Lost contact"), choices=CONTACT_KINDS)
    new_value = _text(_("New phone or email"), required=True, max_length=254)


class ContactChangeForm(ContactConfirmForm):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.TextInput())
