"""Enrolment grants: a staff account's first authenticator needs an administrator's say-so.

Without this, anyone holding a staff password (phished, reused, guessed before the
lock-out) could enrol their own authenticator on an account that has none yet and own it.
An administrator issues a grant (the workspace's "Issue enrolment link" on users); its
token travels as the link /admin/enrol/<token>/ or as a code typed in the sign-in form's
code field. Only a keyed digest of the token is stored. A grant is valid for
ENROLMENT_GRANT_HOURS, for that one user, and is spent when the device is confirmed;
issuing a new one ends the user's earlier unused grants.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from mywallet_support.masking import mask_text

from .models import EnrolmentGrant

log = logging.getLogger(__name__)

TOKEN_BYTES = 24


def digest(token: str) -> str:
    return salted_hmac("accounts.enrolment.grant", token.strip(), algorithm="sha256").hexdigest()


def issue(user, *, acting_user) -> str:
    """A new grant for ``user``, issued by ``acting_user`` (who must be a superuser: the
    admin checks the same); returns the token, which is never stored."""
    if not (acting_user.is_active and acting_user.is_superuser):
        raise PermissionError("Only administrators issue enrolment grants.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    with transaction.atomic():
        EnrolmentGrant.objects.filter(user=user, used_at__isnull=True).update(expires_at=now)
        EnrolmentGrant.objects.create(
            user=user,
            digest=digest(token),
            issued_by=acting_user,
            expires_at=now + timedelta(hours=settings.ENROLMENT_GRANT_HOURS),
        )
    log.info("Enrolment grant issued for user %s by user %s", user.pk, acting_user.pk)
    return token


def find(token: str) -> EnrolmentGrant | None:
    """The usable grant with this token, or None."""
    if not token or len(token) > 100:
        return None
    grant = EnrolmentGrant.objects.filter(digest=digest(token)).select_related("user").first()
    return grant if grant is not None and grant.usable else None


def usable_for(user, *, token: str = "", grant_id: int | None = None) -> EnrolmentGrant | None:
    """The usable grant of ``user`` named by a token (typed) or a grant id (kept in the
    session since the link was opened), or None. Either will do: a link opened and a
    stray code typed as well still finds the link's grant."""
    candidates = [find(token) if token else None]
    if grant_id:
        candidates.append(EnrolmentGrant.objects.filter(pk=grant_id).first())
    for grant in candidates:
        if grant is not None and grant.user_id == user.pk and grant.usable:
            return grant
    return None


def spend(grant: EnrolmentGrant) -> bool:
    """Mark the grant used, once: False when it was used or expired meanwhile."""
    spent = EnrolmentGrant.objects.filter(
        pk=grant.pk, used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now())
    if spent:
        log.info("Enrolment grant used by user %s (%s)", grant.user_id, mask_text(str(grant.user)))
    return bool(spent)
