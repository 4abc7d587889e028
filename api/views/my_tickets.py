"""/api/me/tickets/: the MY Wallet app's customer and their own tickets, with the app's
token only. Every read starts from that customer's tickets, so another's id is a 404;
what the customer writes goes through the same intake as every channel
(tickets.actions.open_for_customer, write_for_customer)."""

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import Transaction
from tickets import actions
from tickets.selectors import customer_tickets, public_thread

from ..callers import CUSTOMER, caller
from ..idempotency import idempotent
from ..schema import errors
from ..serializers.my_tickets import (
    LandedSerializer,
    MyTicketDetailSerializer,
    MyTicketSerializer,
    NewMessageSerializer,
    NewTicketSerializer,
)
from .base import ApiViewSet

TICKET_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="A retried request with the same key gets the first answer; nothing is "
    "created twice.",
)


@extend_schema_view(
    list=extend_schema(summary="My tickets, latest activity first", tags=["me"]),
    retrieve=extend_schema(
        summary="One of my tickets, with its conversation",
        tags=["me"],
        parameters=[TICKET_ID],
        responses={200: MyTicketDetailSerializer},
    ),
    create=extend_schema(
        summary="Contact us: open a ticket with my first message",
        tags=["me"],
        parameters=[IDEMPOTENCY_KEY],
        request=NewTicketSerializer,
        responses={201: MyTicketDetailSerializer, **errors(422)},
    ),
)
class MyTicketViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    callers = (CUSTOMER,)
    serializer_class = MyTicketSerializer
    filter_backends = []

    def get_queryset(self):
        return customer_tickets(caller(self.request).customer)

    def retrieve(self, request, *args, **kwargs):
        return Response(self._detail(self.get_object()))

    def create(self, request):
        form = NewTicketSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        customer = caller(request).customer

        def open_ticket():
            received = actions.open_for_customer(
                customer=customer,
                subject=form.validated_data["subject"],
                text=form.validated_data["message"],
                category=form.validated_data.get("category", ""),
                related_transaction=self._own_transaction(customer, form.validated_data),
            )
            ticket = self.get_queryset().get(pk=received.ticket.pk)
            return self._created(self._detail(ticket), ticket)

        return idempotent(request, open_ticket)

    @extend_schema(
        summary="Write on one of my tickets",
        description="On a closed ticket the message opens a follow-up ticket that points "
        "to it; the answer says where the message landed.",
        tags=["me"],
        parameters=[TICKET_ID, IDEMPOTENCY_KEY],
        request=NewMessageSerializer,
        responses={201: LandedSerializer, **errors(422)},
    )
    def messages(self, request, pk=None):
        ticket = self.get_object()
        form = NewMessageSerializer(data=request.data)
        form.is_valid(raise_exception=True)

        def write():
            received = actions.write_for_customer(
                ticket, customer=caller(request).customer, text=form.validated_data["text"]
            )
            landed = self.get_queryset().get(pk=received.ticket.pk)
            data = LandedSerializer(
                {
                    "ticket": landed,
                    "opened": received.opened,
                    "follows_up": landed.follows_up_id if received.opened else None,
                }
            ).data
            return self._created(data, landed)

        return idempotent(request, write)

    @staticmethod
    def _own_transaction(customer, data) -> Transaction | None:
        reference = data.get("transaction")
        if not reference:
            return None
        found = Transaction.objects.filter(reference=reference, account__customer=customer)
        found = found.first()
        if found is None:
            raise ValidationError(
                {"transaction": [_("No transaction of yours has this reference.")]}
            )
        return found

    def _detail(self, ticket) -> dict:
        ticket.thread = public_thread(ticket)
        return MyTicketDetailSerializer(ticket).data

    @staticmethod
    def _created(data, ticket) -> Response:
        location = reverse("api:my-ticket-detail", kwargs={"pk": ticket.pk})
        return Response(data, status=201, headers={"Location": location})
