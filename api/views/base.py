"""What every API view shares: the body limit, checked before a byte of the body is read.

DRF's settings (mywallet_support.settings.REST_FRAMEWORK) give every view the API's
authentication, the scope check, the per-caller throttle, the pages and the error shape;
a view says which ``callers`` it serves and which ``resource`` its scopes name."""

from django.conf import settings
from rest_framework import exceptions, generics, viewsets
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ..authentication import (
    AgentSessionAuthentication,
    ApiKeyAuthentication,
    CustomerTokenAuthentication,
    TelephonyTokenAuthentication,
)
from ..callers import AGENT, CUSTOMER, KEY, TELEPHONY
from ..errors import LengthRequired, TooLarge

AUTHENTICATION = {
    KEY: ApiKeyAuthentication,
    AGENT: AgentSessionAuthentication,
    CUSTOMER: CustomerTokenAuthentication,
    TELEPHONY: TelephonyTokenAuthentication,
}


class Credentials:
    """A view reads only the credentials of the ``callers`` it serves, so its schema names
    exactly those, and a credential it does not take is answered 401 like none at all. A
    view that sets ``authentication_classes`` itself keeps them."""

    def get_authenticators(self):
        if self.authentication_classes is not api_settings.DEFAULT_AUTHENTICATION_CLASSES:
            return super().get_authenticators()
        callers = getattr(self, "callers", (KEY, AGENT))
        return [AUTHENTICATION[kind]() for kind in callers if kind in AUTHENTICATION]


class BodyLimit:
    """Refuse a body over API_MAX_BODY_BYTES (413), or a body with no declared length (411),
    before it is read into memory. A view whose senders have their own limit says so in
    ``max_body_bytes``."""

    def max_body_bytes(self) -> int:
        return settings.API_MAX_BODY_BYTES

    def initial(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD", "OPTIONS", "DELETE"):
            declared = request.headers.get("Content-Length", "")
            if not declared.isdigit():
                if request.headers.get("Transfer-Encoding"):
                    raise LengthRequired()
            elif int(declared) > (limit := self.max_body_bytes()):
                raise TooLarge(f"The request body is larger than this API accepts ({limit} bytes).")
        super().initial(request, *args, **kwargs)


class PostOnly:
    """For a server-to-server intake that only takes POST: any other method is 405 before
    the credential is checked (or a signed body read and sampled)."""

    def initial(self, request, *args, **kwargs):
        if request.method != "POST":
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class ApiView(Credentials, BodyLimit, APIView):
    pass


class ApiGenericView(Credentials, BodyLimit, generics.GenericAPIView):
    pass


class ApiViewSet(Credentials, BodyLimit, viewsets.GenericViewSet):
    pass
