"""The one-time code's secret parts, below the models: its keyed digest and the back-off
after wrong tries. `accounts.models.CodeDevice` checks codes with them (django-otp's hooks)
and `accounts.codes` sends and checks codes through that device.
"""

import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

_DIGEST_SALT = "accounts.codes.token"


def digest(device_id: int, code: str) -> str:
    """The stored form of ``code`` on the device ``device_id``. Keyed from SECRET_KEY and
    bound to the device, so a leaked table reveals no code (a million candidates are
    nothing without the key) and a digest fits no other device."""
    return salted_hmac(_DIGEST_SALT, f"{device_id}:{code}", algorithm="sha256").hexdigest()


def token_matches(device, code: str) -> bool:
    """Constant-time comparison of ``code`` with the device's stored digest."""
    if not device.token or not code:
        return False
    return hmac.compare_digest(digest(device.pk, code), device.token)


def locked_until(device) -> datetime | None:
    """When the device takes codes again after too many wrong ones; None if it does now."""
    return backoff_until(device.throttling_failure_count, device.throttling_failure_timestamp)


def backoff_until(failures: int, failed_at: datetime | None) -> datetime | None:
    """After CODE_MAX_TRIES wrong codes, each try waits CODE_THROTTLE_FACTOR seconds,
    doubling: when the next try is allowed, or None if it is now."""
    if failures < settings.CODE_MAX_TRIES or failed_at is None:
        return None
    delay = settings.CODE_THROTTLE_FACTOR * 2 ** min(failures - settings.CODE_MAX_TRIES, 16)
    until = failed_at + timedelta(seconds=delay)
    return until if timezone.now() < until else None
