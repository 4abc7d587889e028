"""What every API view shares: the body limit, checked before a byte of the body is read.

DRF's settings (mywallet_support.settings.REST_FRAMEWORK) give every view the API's
authentication, the scope check, the per-caller throttle, the pages and the error shape;
a view says which ``callers`` it serves and which ``resource`` its scopes name."""

from django.conf import settings
from rest_framework import exceptions, generics, viewsets
from rest_framework.views import APIView

from ..errors import LengthRequired, TooLarge


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


class ApiView(BodyLimit, APIView):
    pass


class ApiGenericView(BodyLimit, generics.GenericAPIView):
    pass


class ApiViewSet(BodyLimit, viewsets.GenericViewSet):
    pass
