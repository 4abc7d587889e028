"""``Idempotency-Key`` on creates: a retried POST gets the first answer, not a second ticket.

The key is scoped to its caller (api.callers.Caller.label). The first request with a key
runs and its answer (status and body, when not a server error) is stored in the same
transaction as what it created, so either both are kept or neither. A second request with
the same key:

- and the same method, path and body: answered with the stored answer and
  ``Idempotency-Replayed: true``; nothing runs again;
- with a different request: 422 ``idempotency_key_reused``.

Two requests with the same key at the same moment: the second waits on the first's unique
row (PostgreSQL) or the database's write lock (SQLite), then finds the stored answer.
Answers are kept IDEMPOTENCY_KEEP_HOURS hours: each create with a key first drops its
caller's answers older than that, so the table holds at most a day of each caller's keys
(dropping only the key at hand left every other key's answer there for good).
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response

from .callers import caller
from .errors import IdempotencyKeyReused
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def idempotent(request, create) -> Response:
    """``create()``'s Response, once per Idempotency-Key (none given: just ``create()``)."""
    key = request.headers.get(HEADER)
    if key is None:
        return create()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise exceptions.ValidationError(
            {HEADER: [f"Between 1 and {MAX_KEY_LENGTH} printable ASCII characters."]}
        )
    owner = caller(request).label
    print_ = fingerprint(request)
    kept_since = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
    IdempotentRequest.objects.filter(caller=owner, created_at__lt=kept_since).delete()
    stored = IdempotentRequest.objects.filter(caller=owner, key=key).first()
    if stored is not None:
        return _replay(stored, print_)
    try:
        with transaction.atomic():
            response = create()
            if response.status_code >= 500:
                return response
            IdempotentRequest.objects.create(
                caller=owner,
                key=key,
                fingerprint=print_,
                status_code=response.status_code,
                body=response.data,
                location=response.get("Location", ""),
            )
            return response
    except IntegrityError:
        # Another request with this key committed first: its answer is the answer.
        stored = IdempotentRequest.objects.filter(caller=owner, key=key).first()
        if stored is None:
            raise
        return _replay(stored, print_)


def _replay(stored: IdempotentRequest, print_: str) -> Response:
    if stored.fingerprint != print_:
        raise IdempotencyKeyReused()
    response = Response(stored.body, status=stored.status_code)
    response["Idempotency-Replayed"] = "true"
    if stored.location:
        response["Location"] = stored.location
    return response
