"""The app's customer's own tickets: what the customer may see of them (no queue,
assignee, priority or internal note), and what they send."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tickets.models import Message, Ticket

FROM_CUSTOMER, FROM_SUPPORT = "from_customer", "from_support"


class MyTicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = [
            "id",
            "reference",
            "subject",
            "status",
            "channel",
            "created_at",
            "updated_at",
            "last_message_at",
        ]
        read_only_fields = fields


class PublicMessageSerializer(serializers.ModelSerializer):
    direction = serializers.SerializerMethodField()
    author = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = ["direction", "text", "created_at", "author"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=[FROM_CUSTOMER, FROM_SUPPORT]))
    def get_direction(self, message) -> str:
        return FROM_CUSTOMER if message.direction == Message.Direction.INBOUND else FROM_SUPPORT

    def get_author(self, message) -> str:
        """An agent's first name only (never their username); empty for the customer's own
        messages and automatic ones."""
        if message.direction == Message.Direction.INBOUND or message.author is None:
            return ""
        return message.author.first_name


class MyTicketDetailSerializer(MyTicketSerializer):
    """One ticket with its public thread (set on the instance as ``thread`` by the view)."""

    messages = PublicMessageSerializer(source="thread", many=True, read_only=True)

    class Meta(MyTicketSerializer.Meta):
        fields = [*MyTicketSerializer.Meta.fields, "messages"]
        read_only_fields = fields


class NewTicketSerializer(serializers.Serializer):
    """The app's "contact us"."""

    subject = serializers.CharField(max_length=255)
    message = serializers.CharField(max_length=10_000)
    category = serializers.ChoiceField(choices=Ticket.Category.choices, required=False)
    transaction = serializers.CharField(
        max_length=64, required=False, help_text="A reference of one of the customer's own."
    )


class NewMessageSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=10_000)


class LandedSerializer(serializers.Serializer):
    """Where a customer's message landed: their ticket, or a follow-up opened for it when
    that ticket was closed."""

    ticket = MyTicketSerializer()
    opened = serializers.BooleanField(help_text="A new ticket (a follow-up) was opened.")
    follows_up = serializers.IntegerField(
        allow_null=True, help_text="The closed ticket this new one follows up."
    )
