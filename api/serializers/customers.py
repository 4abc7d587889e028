"""Customers as integrations see them: contacts masked unless the caller holds
customers:personal (api.callers.Caller.sees_personal_data, passed as the ``personal``
context), the wallet's balance only then, and the national ID number never, not even
masked: no integration needs it to help a customer, and a masked one still narrows a
person down."""

from operator import attrgetter

from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.models import Customer, CustomerIdentity, Transaction, WalletAccount
from mywallet_support.masking import mask_wallet_number
from tickets.models import Ticket


class Personal(serializers.CharField):
    """A contact read from the whole object: in full for a caller entitled to personal
    data, else masked."""

    def __init__(self, full, masked, **kwargs):
        self.full, self.masked = full, masked
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value):
        return self.full(value) if self.context.get("personal") else self.masked(value)


class IdentitySerializer(serializers.ModelSerializer):
    value = Personal(attrgetter("value"), attrgetter("masked_value"))

    class Meta:
        model = CustomerIdentity
        fields = ["kind", "value", "display_name"]
        read_only_fields = fields


class WalletSerializer(serializers.ModelSerializer):
    number = Personal(attrgetter("number"), lambda wallet: mask_wallet_number(wallet.number))
    registered_phone = Personal(attrgetter("registered_phone"), attrgetter("masked_phone"))
    registered_email = Personal(attrgetter("registered_email"), attrgetter("masked_email"))
    balance = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        read_only=True,
        help_text="Only for a key with customers:personal; null otherwise.",
    )

    class Meta:
        model = WalletAccount
        fields = [
            "number",
            "status",
            "lock_reason",
            "balance",
            "currency",
            "registered_phone",
            "registered_email",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("personal"):
            data["balance"] = None
        return data


class CustomerSummarySerializer(serializers.ModelSerializer):
    """A customer in a list or a look-up: who they are and how to reach them."""

    identities = IdentitySerializer(many=True, read_only=True)
    wallets = WalletSerializer(many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "name", "language", "created_at", "updated_at", "identities", "wallets"]
        read_only_fields = fields


class TransactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Transaction
        fields = [
            "reference",
            "kind",
            "amount",
            "currency",
            "merchant",
            "status",
            "failure_reason",
            "occurred_at",
        ]
        read_only_fields = fields


class OpenTicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = Ticket
        fields = ["id", "reference", "subject", "status"]
        read_only_fields = fields


class CustomerSerializer(CustomerSummarySerializer):
    """One customer with what an agent diagnoses from: their latest transactions across
    all their wallets and their open tickets (set on the instance by the view)."""

    recent_transactions = TransactionSerializer(many=True, read_only=True)
    open_tickets = OpenTicketSerializer(many=True, read_only=True)

    class Meta(CustomerSummarySerializer.Meta):
        fields = [*CustomerSummarySerializer.Meta.fields, "recent_transactions", "open_tickets"]
        read_only_fields = fields


class LookupQuery(serializers.Serializer):
    """Exactly one identity to look a customer up by, in any format its kind allows."""

    phone = serializers.CharField(required=False, max_length=64)
    email = serializers.CharField(required=False, max_length=254)
    wechat = serializers.CharField(required=False, max_length=255)
    weibo = serializers.CharField(required=False, max_length=255)
    wallet = serializers.CharField(required=False, max_length=32)

    def validate(self, attrs):
        if len(attrs) != 1:
            raise serializers.ValidationError(
                _("Give exactly one of phone, email, wechat, weibo or wallet.")
            )
        return attrs
