"""Forms of the agent workspace. They check input and hand plain values to the actions."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Transaction, WalletAccount
from mywallet_support.pii import mask_text
from tickets import actions
from tickets.models import Macro, Message, Ticket

RECENT_TRANSACTION_CHOICES = 50


class TicketForm(forms.ModelForm):
    """The ticket's own fields. Status and assignee are not here: actions own them."""

    class Meta:
        model = Ticket
        fields = [
            "customer",
            "channel",
            "subject",
            "category",
            "priority",
            "queue",
            "wallet",
            "related_transaction",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        customer_id = self.instance.customer_id if self.instance.pk else None
        if self.instance.pk:
            # The sender's subject, with any personal data in it masked: the page never
            # holds a full value, and a saved form keeps the subject protected.
            self.initial["subject"] = mask_text(self.instance.subject)
        # Only this customer's wallets and transactions can be linked to their ticket.
        if "wallet" in self.fields:
            self.fields["wallet"].queryset = WalletAccount.objects.filter(customer_id=customer_id)
        if "related_transaction" in self.fields:
            # The latest ones, and the one already linked: a wallet can have thousands.
            recent = (
                Transaction.objects.filter(account__customer_id=customer_id)
                .order_by("-occurred_at")
                .values("pk")[:RECENT_TRANSACTION_CHOICES]
            )
            self.fields["related_transaction"].queryset = Transaction.objects.filter(
                Q(pk__in=recent) | Q(pk=self.instance.related_transaction_id)
            ).order_by("-occurred_at")


class ReplyForm(forms.Form):
    REPLY = "reply"
    NOTE = "note"

    kind = forms.ChoiceField(
        label=_("Write"),
        choices=[(REPLY, _("Reply to customer")), (NOTE, _("Internal note"))],
        initial=REPLY,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 6, "class": "mw-reply-body"}),
        max_length=20000,
    )
    then_status = forms.ChoiceField(
        label=_("Then set status"),
        choices=[("", _("Leave as it is")), *Ticket.Status.choices],
        required=False,
    )
    via = forms.ChoiceField(
        label=_("Send through"), choices=(), required=False, widget=forms.RadioSelect
    )
    # The macro the text came from (static/tickets/macros.js): its status change applies
    # when the agent chose none other.
    macro = forms.ModelChoiceField(
        queryset=Macro.objects.filter(active=True), required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, routes=(), **kwargs):
        """``routes``: tickets.actions.reply_routes of the ticket; only the open ones are
        offered, the ticket's own channel first when it takes an answer now."""
        super().__init__(*args, **kwargs)
        self.routes = list(routes)
        self.open_routes = [route for route in self.routes if route.open]
        self.closed_routes = [route for route in self.routes if not route.open]
        self.fields["via"].choices = [(route.channel, route.label) for route in self.open_routes]
        if self.open_routes:
            self.fields["via"].initial = self.open_routes[0].channel

    def clean(self):
        data = super().clean()
        macro = data.get("macro")
        if macro is not None and macro.status and not data.get("then_status"):
            data["then_status"] = macro.status
        return data

    def save(self, ticket: Ticket, *, acting_user) -> Message:
        """Write the reply or note and, if asked, move the status: both or neither."""
        data = self.cleaned_data
        via = data.get("via") or ""
        return actions.reply(
            ticket,
            acting_user=acting_user,
            body=data["body"],
            internal=data["kind"] == self.NOTE,
            then_status=data["then_status"],
            via="" if via == ticket.channel else via,
        )


class CcForm(forms.Form):
    """One Cc address of the ticket's Cc card, to accept or remove: typed, or named by
    the card's token (``address_token``, workspace.admin.contacts), so a page that shows
    it masked never carries it in full."""

    address = forms.EmailField(label=_("Cc address"), max_length=254)
    address_token = forms.CharField(max_length=64, required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=Ticket.Status.choices)


def assignable_agents():
    return get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")


class AssignForm(forms.Form):
    """Assign to an agent or to nobody; the "assign to me" button sends ``to_me``."""

    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        queryset=assignable_agents(),
        required=False,
        empty_label=_("Nobody"),
    )
    to_me = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def assignee_for(self, user):
        return user if self.cleaned_data.get("to_me") else self.cleaned_data.get("assignee")
