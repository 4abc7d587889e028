"""POST /api/wallet-events/: events from the wallet core, server to server.

Authenticated by its signature alone (api.wallet_signature), never by a key, a token or a
session, hence no CSRF token, no scope and no per-caller throttle: a signed event is never
answered 429 (unsigned ones have their own refusal limit there). The body limit is
WALLET_EVENTS_MAX_BYTES, checked by the signature's check so a refused body is sampled.
The proven body is stored whole (accounts.models.WalletEvent), refused ones too, as
evidence; its content is checked and acted on by tickets.actions.wallet_events (the payload
contract is in accounts.actions.wallet_events)."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tickets.actions.wallet_events import receive_wallet_event

from ..schema import Error, errors
from ..wallet_signature import TIMESTAMP_HEADER, Refused, WalletSignatureAuthentication
from .base import PostOnly

EVENT_TYPES = ["payment_failed", "payment_password_failed", "payment_succeeded"]
EVENT_TYPES += ["transaction", "risk_alert"]

WalletEvent = inline_serializer(
    name="WalletEvent",
    fields={
        "id": serializers.CharField(help_text="Unique per event; retries reuse it."),
        "type": serializers.ChoiceField(choices=EVENT_TYPES),
        "account": serializers.CharField(help_text="The wallet's account number."),
        "occurred_at": serializers.DateTimeField(
            required=False, help_text="ISO 8601 with its offset; default: now."
        ),
        "data": serializers.DictField(
            help_text="Per type: reference, amount, currency, merchant, reason, kind, status, "
            "device_id, second_factor; risk_alert: rule, description."
        ),
    },
)

WalletEventAnswer = inline_serializer(
    name="WalletEventAnswer",
    fields={
        "status": serializers.ChoiceField(choices=["processed", "duplicate"]),
        "id": serializers.CharField(),
        "actions": serializers.ListField(
            child=serializers.CharField(), help_text="What the event did (e.g. locked)."
        ),
    },
)


class WalletEventsView(PostOnly, APIView):
    authentication_classes = [WalletSignatureAuthentication]
    permission_classes = []
    throttle_classes = []

    @extend_schema(
        operation_id="wallet_events_create",
        summary="Receive a signed event from the wallet core",
        description="Signed with the shared secret (see the walletSignature scheme). Every "
        "signed body is stored as received; an event id seen before is a duplicate and "
        "changes nothing. Unsigned or stale requests are refused (401) and sampled; an "
        "address with too many refusals in an hour is answered 429. A signed event never is.",
        tags=["wallet events"],
        request=WalletEvent,
        parameters=[
            OpenApiParameter(
                TIMESTAMP_HEADER,
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="Sending time, Unix seconds; part of the signed text.",
            )
        ],
        responses={
            200: OpenApiResponse(
                WalletEventAnswer, description="Processed, or a duplicate of an event seen before."
            ),
            **errors(400, 401, 413, 429, 503),
            422: OpenApiResponse(
                Error, description="Signed but refused: unknown type or account, bad fields."
            ),
        },
    )
    def post(self, request):
        outcome = receive_wallet_event(request.auth.raw)
        if outcome.http_status >= 400:
            raise Refused(outcome.http_status, outcome.code, outcome.detail)
        return Response(outcome.as_json(), status=outcome.http_status)
