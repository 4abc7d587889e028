"""Tickets and their messages as the desk's callers (integrations' keys, agents' sessions)
read them, and the bodies they send to change them.

Output is read from instances the views load with their joins (api.views.tickets), so
no field here costs a query of its own. Contacts are masked (mywallet_support.masking):
these callers see what an agent sees in the list, never a contact in full.
"""

from django.contrib.auth import get_user_model
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Customer
from mywallet_support.masking import mask_identity
from mywallet_support.pii import mask_text
from tickets import sla
from tickets.html import sanitise_html
from tickets.models import Attachment, Channel, Message, Queue, Ticket


class SlaState(models.TextChoices):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    NONE = "none"


# tickets.sla's states under the API's names ("soon" is the inbox's amber: a warning).
SLA_STATES = {
    sla.OK: SlaState.OK,
    sla.SOON: SlaState.WARNING,
    sla.BREACHED: SlaState.BREACHED,
    None: SlaState.NONE,
}


class QueueRef(serializers.ModelSerializer):
    class Meta:
        model = Queue
        fields = ["slug", "name"]


class CustomerRef(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = ["id", "name"]


class PersonRef(serializers.ModelSerializer):
    """An agent (or an integration's service account): id and the name the admin shows."""

    name = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "name"]

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class Sla(serializers.Serializer):
    due = serializers.DateTimeField(
        allow_null=True,
        help_text="The due time that applies now (first response, then resolution).",
    )
    state = serializers.ChoiceField(
        choices=SlaState.choices,
        help_text="none: no due time, or the clock is stopped (pending, solved, closed).",
    )


class TicketOut(serializers.ModelSerializer):
    queue = QueueRef(read_only=True, allow_null=True)
    customer = CustomerRef(read_only=True)
    assignee = PersonRef(read_only=True, allow_null=True)
    sla = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "priority",
            "category",
            "channel",
            "queue",
            "customer",
            "assignee",
            "sla",
            "first_response_due",
            "resolution_due",
            "first_responded_at",
            "solved_at",
            "closed_at",
            "last_message_at",
            "last_message_preview",
            "satisfaction_score",
            "created_at",
            "updated_at",
            "url",
        ]
        read_only_fields = fields

    @extend_schema_field(Sla)
    def to_representation(self, ticket):
        """The subject and the preview are the customer's words: personal data masked."""
        data = super().to_representation(ticket)
        for name in ("subject", "last_message_preview"):
            data[name] = mask_text(data[name])
        return data

    def get_sla(self, ticket) -> dict:
        state, due = sla.sla_state(ticket, self.context.get("now") or timezone.now())
        return {
            "due": serializers.DateTimeField().to_representation(due),
            "state": SLA_STATES[state],
        }

    def get_url(self, ticket) -> str:
        path = reverse("api:ticket-detail", args=[ticket.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class AttachmentOut(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = ["id", "name", "content_type", "size"]
        read_only_fields = fields


class Sender(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField(help_text="Masked.")


class MessageOut(serializers.ModelSerializer):
    author = PersonRef(read_only=True, allow_null=True)
    sender = serializers.SerializerMethodField(help_text="The customer's identity, masked.")
    html = serializers.SerializerMethodField(help_text="Sanitised; empty for plain text.")
    attachments = AttachmentOut(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "direction",
            "channel",
            "author",
            "sender",
            "subject",
            "text",
            "html",
            "created_at",
            "delivery_status",
            "delivered_at",
            "attachments",
        ]
        read_only_fields = fields

    @extend_schema_field(Sender(allow_null=True))
    def get_sender(self, message) -> dict | None:
        identity = message.sender
        if identity is None:
            return None
        return {"kind": identity.kind, "value": mask_identity(identity.kind, identity.value)}

    def get_html(self, message) -> str:
        # Sanitised on the way in already; again here, so a row written by any path can
        # never hand a client's page a script.
        return sanitise_html(message.html)

    def to_representation(self, message):
        """What a customer wrote, with its personal data masked, as every agent view shows
        it (stored text is protected as it is written; this covers older rows, subjects
        and file names)."""
        data = super().to_representation(message)
        if message.direction == Message.Direction.INBOUND:
            for name in ("subject", "text", "html"):
                data[name] = mask_text(data[name])
        for attachment in data["attachments"]:
            attachment["name"] = mask_text(attachment["name"])
        return data


# --- what callers send ----------------------------------------------------------------------


class TicketCreate(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    subject = serializers.CharField(max_length=255)
    message = serializers.CharField(help_text="The customer's own words: their first message.")
    category = serializers.ChoiceField(
        choices=Ticket.Category.choices, default=Ticket.Category.OTHER
    )
    priority = serializers.ChoiceField(
        choices=Ticket.Priority.choices, default=Ticket.Priority.NORMAL
    )
    queue = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Queue.objects.all(),
        required=False,
        allow_null=True,
        help_text="Omitted: the routing rules choose.",
    )
    wallet = serializers.CharField(
        required=False, max_length=32, help_text="The customer's wallet number."
    )

    def validate(self, data):
        number = data.pop("wallet", None)
        if number:
            # Only among the customer's own wallets: another's number is not confirmed to exist.
            wallet = data["customer"].wallets.filter(number=number).first()
            if wallet is None:
                raise serializers.ValidationError(
                    {"wallet": [_("This wallet is not the customer's.")]}
                )
            data["wallet"] = wallet
        return data


class TicketChange(serializers.Serializer):
    """Every field optional: only what is sent changes."""

    status = serializers.ChoiceField(choices=Ticket.Status.choices, required=False)
    priority = serializers.ChoiceField(choices=Ticket.Priority.choices, required=False)
    category = serializers.ChoiceField(choices=Ticket.Category.choices, required=False)
    queue = serializers.SlugRelatedField(
        slug_field="slug", queryset=Queue.objects.all(), required=False, allow_null=True
    )
    subject = serializers.CharField(max_length=255, required=False)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True, is_staff=True),
        required=False,
        allow_null=True,
        help_text="An agent's id, or null for nobody.",
    )


class ReplyIn(serializers.Serializer):
    body = serializers.CharField()
    then_status = serializers.ChoiceField(
        choices=Ticket.Status.choices,
        required=False,
        help_text="The ticket's status after the answer, in the same transaction.",
    )
    via = serializers.ChoiceField(
        choices=Channel.choices,
        required=False,
        help_text="Another of the customer's channels to answer through (default: the "
        "ticket's own); it must be open now.",
    )


class NoteIn(serializers.Serializer):
    body = serializers.CharField()
