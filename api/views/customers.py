"""/api/customers/: look a customer up by any contact, list them, read one with their
wallets, latest transactions and open tickets. For keys with customers:read and agents;
masked unless the key holds customers:personal (api.serializers.customers)."""

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.response import Response

from accounts.models import Customer, CustomerIdentity, Transaction, WalletAccount
from tickets.models import Ticket
from tickets.selectors import RECENT_TRANSACTIONS, customers_known_by

from ..callers import caller
from ..schema import errors
from ..serializers.customers import CustomerSerializer, CustomerSummarySerializer, LookupQuery
from .base import ApiViewSet


class CustomerFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", help_text="Part of the name.")
    created_since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="ISO 8601, with an offset."
    )
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="ISO 8601, with an offset."
    )

    class Meta:
        model = Customer
        fields = ["name", "created_since", "updated_since"]


@extend_schema_view(
    list=extend_schema(summary="Customers", tags=["customers"]),
    retrieve=extend_schema(
        summary="A customer, with wallets, latest transactions and open tickets",
        tags=["customers"],
    ),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    resource = "customers"
    filterset_class = CustomerFilter
    serializer_class = CustomerSummarySerializer

    def get_queryset(self):
        # Merged customers are empty shells: the look-up answers the one they went into.
        return (
            Customer.objects.filter(merged_into__isnull=True)
            .prefetch_related(
                Prefetch("identities", queryset=CustomerIdentity.objects.order_by("kind", "pk")),
                Prefetch("wallets", queryset=WalletAccount.objects.order_by("number")),
            )
            .order_by("-created_at", "-pk")
        )

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "personal": caller(self.request).sees_personal_data,
        }

    def retrieve(self, request, *args, **kwargs):
        customer = self.get_object()
        customer.recent_transactions = list(
            Transaction.objects.filter(account__customer=customer).order_by("-occurred_at", "-pk")[
                :RECENT_TRANSACTIONS
            ]
        )
        customer.open_tickets = list(
            customer.tickets.exclude(status__in=[Ticket.Status.SOLVED, Ticket.Status.CLOSED])
            .only("reference", "subject", "status")
            .order_by("-last_message_at", "-pk")
        )
        return Response(CustomerSerializer(customer, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Look a customer up by one contact",
        description="Exactly one parameter. A phone in any format, an email in any case, a "
        "WeChat OpenID, a Weibo UID or a wallet number; a wallet's registered phone and email "
        "count too. Usually one customer; a merged customer answers as the one it was merged "
        "into.",
        parameters=[LookupQuery],
        responses={200: CustomerSummarySerializer(many=True), **errors(400)},
        tags=["customers"],
    )
    def lookup(self, request):
        query = LookupQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        ((kind, value),) = query.validated_data.items()
        try:
            found = customers_known_by(kind, value)
        except ValidationError as exc:
            raise ValidationError({kind: exc.messages}) from exc
        customers = self.get_queryset().filter(pk__in=found.values("pk"))
        return Response(self.get_serializer(customers, many=True).data)
