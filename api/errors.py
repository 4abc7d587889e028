"""One JSON shape for every error the API answers, with a stable code:

    {"error": {"code": "not_found", "message": "Not found.", "fields": {...}}}

``fields`` is there for invalid input only: each field's messages. The codes are DRF's
(``not_authenticated``, ``authentication_failed``, ``permission_denied``, ``not_found``,
``method_not_allowed``, ``not_acceptable``, ``unsupported_media_type``, ``throttled``,
``parse_error``, ``invalid``) and the API's own (``precondition_failed``,
``idempotency_key_reused``, ``too_large``, ``length_required``, ``server_error``), plus
an action's own code where it gives one (``ticket_closed``).
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "The ticket has changed since you read it (If-Match does not match its ETag)."
    )
    default_code = "precondition_failed"


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy("This Idempotency-Key was used with a different request.")
    default_code = "idempotency_key_reused"


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


class LengthRequired(exceptions.APIException):
    status_code = status.HTTP_411_LENGTH_REQUIRED
    default_detail = gettext_lazy("A request with a body must declare its Content-Length.")
    default_code = "length_required"


def body(code: str, message: str, fields: dict | None = None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def handle(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    exc = _as_drf(exc)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("API request failed", exc_info=exc)
        return Response(body("server_error", _("Something went wrong on our side.")), status=500)
    if isinstance(exc, exceptions.ValidationError):
        response.data = _invalid(exc.detail)
    else:
        code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = code if isinstance(code, str) else "error"
        response.data = body(code, str(getattr(exc, "detail", exc)))
    return response


def _as_drf(exc):
    if isinstance(exc, DjangoValidationError):
        code = getattr(exc, "code", None) or "invalid"
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(
                {
                    field: [str(m) for error in errors for m in error.messages]
                    for field, errors in exc.error_dict.items()
                },
                code=code,
            )
        return exceptions.ValidationError({"non_field_errors": exc.messages}, code=code)
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    return exc


def _invalid(detail) -> dict:
    """A ValidationError's detail as the error shape: the first message as ``message``, the
    code of the first error (an action's own, such as "ticket_closed", else "invalid")."""
    if isinstance(detail, dict):
        fields = {name: [str(m) for m in _flat(messages)] for name, messages in detail.items()}
        general = fields.pop("non_field_errors", None) or fields.pop("detail", None)
        first = _first(detail)
        message = general[0] if general else _("Some fields are not valid.")
        return body(getattr(first, "code", None) or "invalid", message, fields or None)
    messages = [str(m) for m in _flat(detail)]
    first = _first(detail)
    return body(
        getattr(first, "code", None) or "invalid", messages[0] if messages else _("Invalid input.")
    )


def _flat(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _flat(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def _first(detail):
    return next(iter(_flat(detail)), None)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any /api/ path nothing answers: the same shape, not the site's HTML 404 page. Exempt
    from the CSRF check as the API's views are (DRF's session authentication checks CSRF
    itself), so a write to a wrong path is a JSON 404, not the CSRF failure's HTML 403."""
    return JsonResponse(body("not_found", _("Not found.")), status=404)
