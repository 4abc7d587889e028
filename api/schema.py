"""The OpenAPI document's parts that drf-spectacular cannot infer: the security schemes
(the three ways in, the telephony token, the wallet core's signature), the error shape,
and the errors every operation can answer.

`add_error_responses` (a postprocessing hook) adds to every operation the errors its
kind can give: 401 and 403 where a credential is needed, 429 for the throttle, 400 and
413 where a body is sent, 400 where query parameters are read, 404 where the path names an
object or a page is asked for, 412 where If-Match is read. A view documents its own
further errors with `errors(...)`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from .authentication import CUSTOMER_TOKEN_HEADER
from .callers import ANONYMOUS
from .wallet_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER

ERROR_DESCRIPTIONS = {
    400: "The request is not valid (`invalid`, or an action's own code such as `ticket_closed`).",
    401: "No credential, or one that is malformed, unknown, revoked or expired.",
    403: "The credential may not do this (scope, role, or CSRF for the session).",
    404: "Not found, or not the caller's to see.",
    409: "The request conflicts with the resource's state.",
    411: "A body sent without a Content-Length.",
    412: "If-Match does not match the resource's current ETag.",
    413: "The body is larger than API_MAX_BODY_BYTES.",
    415: "The body is not JSON.",
    422: "The Idempotency-Key was used with a different request.",
    429: "Too many requests for this caller; see Retry-After.",
    503: "The endpoint is not configured on this server.",
}

Error = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(help_text="Stable, for programs: e.g. not_found."),
                "message": serializers.CharField(
                    help_text="For people, in the request's language."
                ),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    required=False,
                    help_text="Invalid input only: each field's messages.",
                ),
            },
        )
    },
)


# The same shape as `Error`, for the operations that name no error of their own.
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


class ApiSchema(AutoSchema):
    """An operation a caller without a credential may use (the public articles) says so:
    its security list ends with the empty requirement."""

    def get_auth(self):
        auths = super().get_auth()
        if ANONYMOUS in getattr(self.view, "callers", ()) and {} not in auths:
            auths.append({})
        return auths


def errors(*statuses: int) -> dict:
    """``extend_schema(responses=...)`` entries for these error statuses."""
    return {
        status: OpenApiResponse(Error, description=ERROR_DESCRIPTIONS[status])
        for status in statuses
    }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "mws_<prefix>_<secret>",
            "description": "An integration's API key, made by an administrator in the admin "
            "(API keys). Its scopes decide what it may read and change.",
        }


class CustomerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.CustomerTokenAuthentication"
    name = "customerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": CUSTOMER_TOKEN_HEADER,
            "description": "The MY Wallet app's signed token (JWT, HS256, audience "
            "`mywallet-support:api`) for its signed-in customer: that customer's tickets only.",
        }


class AgentSessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.AgentSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The admin's session, for agents' own scripts: signed in with two "
            "factors; writes need the CSRF token (X-CSRFToken) from the csrftoken cookie.",
        }


class TelephonyTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TelephonyTokenAuthentication"
    name = "telephonyToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The telephony system's shared token (TELEPHONY_API_TOKEN), "
            "for POST /api/calls/ only; an API key with `calls:write` does the same.",
        }


class WalletSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "api.wallet_signature.WalletSignatureAuthentication"
    name = "walletSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": f"The wallet core's signature: hex HMAC-SHA256 of "
            f'`"<{TIMESTAMP_HEADER}>." + body`, keyed with the shared WALLET_EVENTS_SECRET; '
            f"{TIMESTAMP_HEADER} (Unix seconds) within WALLET_EVENTS_WINDOW_SECONDS of now.",
        }


def _json_error():
    return {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the errors every operation can answer, documented."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            wanted = [429]
            if any(requirement for requirement in operation.get("security", [])):
                wanted += [401, 403]  # a credential it reads can be wrong, or not enough
            if method in ("post", "put", "patch"):
                wanted += [400, 413, 415]
            query = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
            if query:
                wanted.append(400)  # a filter's value that does not parse
            if "{" in path or "page" in query:
                wanted.append(404)  # DRF's pages answer 404 for a page past the last
            for status in wanted:
                responses.setdefault(
                    str(status),
                    {"description": ERROR_DESCRIPTIONS[status], "content": _json_error()},
                )
    return result
