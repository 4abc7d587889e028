"""ETags for a resource's representation, and the If-Match / If-None-Match checks.

The ETag is the SHA-256 of the representation the client is given (as canonical JSON), so
it changes exactly when something the client sees changes, whatever changed it (a reply,
the customer's message, an agent in the admin)."""

import hashlib
import json

from .errors import PreconditionFailed


def etag_of(data) -> str:
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def _tags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}


def check_if_match(request, current_data) -> None:
    """Refuse (412) a change sent with an If-Match that is not the current ETag. Without
    If-Match the change goes ahead (last write wins, as the admin's)."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = _tags(header)
    if "*" not in tags and etag_of(current_data) not in tags:
        raise PreconditionFailed()


def not_modified(request, etag: str) -> bool:
    """Whether a GET's If-None-Match already names ``etag`` (answer 304)."""
    header = request.headers.get("If-None-Match")
    return header is not None and (etag in _tags(header) or "*" in _tags(header))
