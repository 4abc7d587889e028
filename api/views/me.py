"""GET /api/me/: who the credential is, and what it may do. The first call an integration
makes with a new key, and the app's check that its token is accepted."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from mywallet_support.masking import mask_wallet_number

from ..callers import AGENT, CUSTOMER, KEY, caller
from ..models import Scope
from .base import ApiView

Me = inline_serializer(
    name="Me",
    fields={
        "kind": serializers.ChoiceField(choices=[KEY, AGENT, CUSTOMER]),
        "name": serializers.CharField(),
        "scopes": serializers.ListField(child=serializers.CharField()),
        "wallet": serializers.CharField(allow_blank=True, help_text="Customers: masked."),
    },
)


class MeView(ApiView):
    callers = (KEY, AGENT, CUSTOMER)
    resource = None

    @extend_schema(responses={200: Me}, summary="Who this credential is", tags=["me"])
    def get(self, request):
        who = caller(request)
        if who.kind == KEY:
            name, scopes, wallet = who.key.name, sorted(who.key.scopes), ""
        elif who.kind == AGENT:
            name, scopes, wallet = who.user.get_username(), sorted(Scope.values), ""
        else:
            account = who.identity.account
            name, scopes, wallet = who.customer.name, [], mask_wallet_number(account.number)
        return Response({"kind": who.kind, "name": name, "scopes": scopes, "wallet": wallet})
