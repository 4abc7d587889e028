"""/api/tickets/: what an agent does for a ticket in the admin, for integrations (a key with
tickets:read or tickets:write) and agents' own scripts (their verified session, CSRF on
writes). Thin: each change is the same action the admin calls (tickets.actions), so its
permission checks, history and side effects are the admin's too.

A change sent with If-Match is checked against the ticket's representation as it stands,
read under the ticket's row lock, so two clients cannot both win with the same ETag. A
create sent with an Idempotency-Key runs once (api.idempotency), and If-Match is checked
inside it: a retried reply is answered with its first answer, not refused because the
first attempt changed the ticket.
"""

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from tickets import actions
from tickets.models import Channel, Message, Ticket

from ..etags import check_if_match, etag_of, not_modified
from ..filters import DEFAULT_ORDER, TicketFilter
from ..idempotency import idempotent
from ..schema import errors
from ..serializers.tickets import (
    MessageOut,
    NoteIn,
    ReplyIn,
    TicketChange,
    TicketCreate,
    TicketOut,
)
from .base import ApiViewSet

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ticket's ETag as last read: the change is refused (412) if it changed.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag already held: 304 with no body while it is current.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique text (up to 255 printable ASCII characters): a retry with the "
    "same key and body gets the first answer (Idempotency-Replayed: true) and changes nothing.",
)

# The ticket's fields that update_details changes (status and assignee have their own actions).
DETAIL_FIELDS = ("subject", "priority", "category", "queue")


@extend_schema(tags=["tickets"])
class TicketViewSet(ApiViewSet):
    """Tickets for integrations (tickets:read to read, tickets:write to change) and agents'
    verified sessions; every change runs the admin's own action."""

    resource = "tickets"
    serializer_class = TicketOut
    filterset_class = TicketFilter
    lookup_value_converter = "int"
    queryset = Ticket.objects.select_related("queue", "customer", "assignee").order_by(
        *DEFAULT_ORDER
    )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _out(self, ticket: Ticket) -> dict:
        return TicketOut(ticket, context=self.get_serializer_context()).data

    def _locked(self, pk) -> Ticket:
        """The ticket under its row lock (inside the caller's transaction), with its joins."""
        return get_object_or_404(self.get_queryset().select_for_update(of=("self",)), pk=pk)

    def _reread(self, pk) -> Ticket:
        return self.get_queryset().get(pk=pk)

    @extend_schema(summary="List tickets")
    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Open a ticket for a known customer",
        request=TicketCreate,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: TicketOut, **errors(422)},
    )
    def create(self, request):
        def create():
            body = TicketCreate(data=request.data)
            body.is_valid(raise_exception=True)
            data = body.validated_data
            ticket = actions.open_with_message(
                customer=data["customer"],
                channel=Channel.API,
                subject=data["subject"],
                text=data["message"],
                category=data["category"],
                priority=data["priority"],
                queue=data.get("queue"),
                wallet=data.get("wallet"),
                acting_user=request.user,
            )
            return Response(self._out(self._reread(ticket.pk)), status=status.HTTP_201_CREATED)

        response = idempotent(request, create)
        return _located(response)

    @extend_schema(
        summary="A ticket",
        parameters=[IF_NONE_MATCH],
        responses={200: TicketOut, 304: OpenApiResponse(description="Not modified.")},
    )
    def retrieve(self, request, pk=None):
        data = self._out(get_object_or_404(self.get_queryset(), pk=pk))
        etag = etag_of(data)
        if not_modified(request, etag):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        else:
            response = Response(data)
        response["ETag"] = etag
        return response

    @extend_schema(
        summary="Change a ticket's status, details or assignee",
        request=TicketChange,
        parameters=[IF_MATCH],
        responses={200: TicketOut, **errors(412)},
    )
    def partial_update(self, request, pk=None):
        body = TicketChange(data=request.data)
        body.is_valid(raise_exception=True)
        changes = body.validated_data
        with transaction.atomic():
            ticket = self._locked(pk)
            check_if_match(request, self._out(ticket))
            details = {name: changes[name] for name in DETAIL_FIELDS if name in changes}
            if details:
                actions.update_details(ticket, acting_user=request.user, **details)
            if "status" in changes:
                actions.change_status(ticket, acting_user=request.user, status=changes["status"])
            if "assignee" in changes:
                actions.assign(ticket, acting_user=request.user, assignee=changes["assignee"])
        data = self._out(self._reread(pk))
        return Response(data, headers={"ETag": etag_of(data)})

    @extend_schema(
        summary="Answer the customer",
        request=ReplyIn,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        responses={201: MessageOut, **errors(412, 422)},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        body = ReplyIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        return self._write(
            request,
            pk,
            lambda ticket: actions.reply(
                ticket,
                acting_user=request.user,
                body=data["body"],
                then_status=data.get("then_status", ""),
                via=data.get("via", ""),
            ),
        )

    @extend_schema(
        summary="Add an internal note (agents only ever see it)",
        request=NoteIn,
        parameters=[IF_MATCH, IDEMPOTENCY_KEY],
        responses={201: MessageOut, **errors(412, 422)},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        body = NoteIn(data=request.data)
        body.is_valid(raise_exception=True)
        text = body.validated_data["body"]
        return self._write(
            request,
            pk,
            lambda ticket: actions.add_note(ticket, acting_user=request.user, body=text),
        )

    def _write(self, request, pk, write) -> Response:
        """A message written on the ticket by ``write(ticket)``, once per Idempotency-Key,
        if the ticket is still as the caller read it (If-Match)."""

        def create():
            ticket = self._locked(pk)
            check_if_match(request, self._out(ticket))
            message = write(ticket)
            stored = _messages().get(pk=message.pk)
            return Response(MessageOut(stored).data, status=status.HTTP_201_CREATED)

        with transaction.atomic():
            return idempotent(request, create)

    @extend_schema(
        summary="The thread, oldest first (internal notes included)",
        responses=MessageOut(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], serializer_class=MessageOut)
    def messages(self, request, pk=None):
        ticket = get_object_or_404(Ticket.objects.only("pk"), pk=pk)
        page = self.paginate_queryset(_messages().filter(ticket=ticket))
        return self.get_paginated_response(MessageOut(page, many=True).data)


def _messages():
    return (
        Message.objects.select_related("author", "sender")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def _located(response: Response) -> Response:
    """A created ticket's answer names it (replays too: the stored answer has its url)."""
    if response.status_code == status.HTTP_201_CREATED:
        response["Location"] = response.data["url"]
    return response
