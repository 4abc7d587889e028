"""POST /api/calls/: call records from the telephony system, server to server.

Taken with an API key holding ``calls:write`` or the telephony system's shared token
(api.authentication.TelephonyTokenAuthentication); no session, hence no CSRF token. A body
declaring more than TELEPHONY_MAX_BYTES is refused before it is read (413). The body is
stored raw first (InboundMessage), before anything parses it, then filed by the phone
channel's intake (`intake.process`): 201 when filed, 200 when the call id was filed before
(the telephony system's retries are no-ops), 400 ``quarantined`` with the reason when the
record is refused (kept, so it can be reprocessed after a fix). Answered calls become
CallLogs and phone Messages on the customer's ticket, unanswered ones callback tasks.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from tickets.models import CallLog
from tickets.sources.phone import intake

from ..authentication import ApiKeyAuthentication, TelephonyTokenAuthentication
from ..callers import KEY, TELEPHONY
from ..schema import Error
from .base import ApiView, PostOnly

logger = logging.getLogger(__name__)

CallRecord = inline_serializer(
    name="CallRecord",
    fields={
        "call_id": serializers.CharField(max_length=100, help_text="The telephony system's id."),
        "number": serializers.CharField(max_length=64, help_text="The caller's, any format."),
        "direction": serializers.ChoiceField(
            choices=CallLog.Direction.choices, required=False, default="inbound"
        ),
        "outcome": serializers.ChoiceField(choices=CallLog.Outcome.choices),
        "started_at": serializers.DateTimeField(help_text="ISO 8601 with its offset."),
        "duration_seconds": serializers.IntegerField(
            min_value=0, max_value=86400, required=False, allow_null=True
        ),
        "notes": serializers.CharField(
            max_length=intake.MAX_NOTES, required=False, allow_blank=True
        ),
        "recording": serializers.CharField(
            max_length=255, required=False, allow_blank=True, help_text="Recording reference."
        ),
        "agent": serializers.CharField(
            max_length=150,
            required=False,
            allow_blank=True,
            help_text="Username of the agent who took the call; ignored unless an agent's.",
        ),
    },
)

CallFiled = inline_serializer(
    name="CallFiled",
    fields={
        "status": serializers.ChoiceField(choices=["accepted", "duplicate"]),
        "id": serializers.IntegerField(help_text="The stored record's id."),
    },
)


class CallsView(PostOnly, ApiView):
    # The telephony token first: the key's check refuses any bearer that is not a key.
    authentication_classes = [TelephonyTokenAuthentication, ApiKeyAuthentication]
    callers = (KEY, TELEPHONY)
    resource = "calls"

    def max_body_bytes(self) -> int:
        return settings.TELEPHONY_MAX_BYTES

    @extend_schema(
        operation_id="calls_create",
        summary="File a call record",
        description="The telephony system's call record. The body is stored as received "
        "before it is read, then filed: an answered call becomes a phone message on the "
        "caller's open ticket, an unanswered one a callback task. A record refused is kept "
        "(400 `quarantined`, with the reason) and can be reprocessed after a fix.",
        tags=["calls"],
        request=CallRecord,
        responses={
            201: OpenApiResponse(CallFiled, description="Filed."),
            200: OpenApiResponse(CallFiled, description="This call id was filed before."),
            400: OpenApiResponse(
                Error, description="Refused and kept (`quarantined`); the message says why."
            ),
        },
    )
    def post(self, request):
        stored = intake.store(request.body)
        try:
            filed = intake.process(stored)
        except ValidationError as error:
            logger.info("call record %s quarantined", stored.pk)
            raise exceptions.ValidationError(
                "; ".join(error.messages), code="quarantined"
            ) from None
        if filed == stored.Status.DUPLICATE:
            return Response({"status": "duplicate", "id": stored.pk}, status=status.HTTP_200_OK)
        return Response({"status": "accepted", "id": stored.pk}, status=status.HTTP_201_CREATED)
