"""Making, revoking and noting the use of API keys. Each change is logged (never the key)
and kept on the key itself: who made it, with which scopes, who revoked it and why."""

import logging
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.permissions import VIEW_TICKETS, WORK_TICKETS

from .keys import hash_secret, new_key
from .models import ApiKey, Scope

logger = logging.getLogger(__name__)

MANAGE_KEYS = "api.add_apikey"
# How often a key's "last used" is written: at most once a minute, not on every request.
USE_RECORDED_EVERY = timedelta(minutes=1)

# The Django permissions the key's service account needs for the actions its scopes reach:
# the actions check their acting user as they check an agent.
SCOPE_PERMISSIONS = {
    Scope.TICKETS_READ: [VIEW_TICKETS, "tickets.view_message"],
    Scope.TICKETS_WRITE: [VIEW_TICKETS, WORK_TICKETS, "tickets.add_ticket", "tickets.view_message"],
    Scope.CUSTOMERS_READ: ["accounts.view_customer"],
    Scope.CUSTOMERS_PERSONAL: ["accounts.view_customer"],
    Scope.CALLS_WRITE: ["tickets.add_calllog"],
    Scope.ARTICLES_READ: ["tickets.view_article"],
}


def _clean_scopes(scopes) -> list[str]:
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise ValidationError(
            _("Unknown scopes: %(scopes)s."), params={"scopes": ", ".join(unknown)}
        )
    if not scopes:
        raise ValidationError(_("A key needs at least one scope."))
    return sorted(set(scopes))


@transaction.atomic
def create_key(*, acting_user, name: str, scopes, expires_at=None) -> tuple[ApiKey, str]:
    """A new key and its text, which is shown once and never stored."""
    if not acting_user.has_perm(MANAGE_KEYS):
        raise PermissionDenied(_("You do not have permission to do this."))
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("A key needs a name."))
    scopes = _clean_scopes(scopes)
    made = new_key()
    user = get_user_model().objects.create(
        username=f"api-{slugify(name)[:80] or 'key'}-{made.prefix}",
        first_name=name[:150],
        is_staff=False,
        is_active=True,
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    names = {perm for scope in scopes for perm in SCOPE_PERMISSIONS[scope]}
    user.user_permissions.set(_permissions(names))
    key = ApiKey.objects.create(
        name=name,
        prefix=made.prefix,
        secret_hash=hash_secret(made.secret),
        scopes=scopes,
        user=user,
        created_by=acting_user,
        expires_at=expires_at,
    )
    logger.info("API key %s (%s) created by %s: %s", key.prefix, name, acting_user.pk, scopes)
    return key, made.text


def _permissions(names: set[str]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = Permission.objects.filter(content_type__app_label__in={a for a, _c in wanted})
    return [
        p
        for p in found.select_related("content_type")
        if (p.content_type.app_label, p.codename) in wanted
    ]


@transaction.atomic
def revoke_key(key: ApiKey, *, acting_user, reason: str = "") -> ApiKey:
    """The key opens nothing from now on (its service account is deactivated too)."""
    if not acting_user.has_perm(MANAGE_KEYS):
        raise PermissionDenied(_("You do not have permission to do this."))
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.revoked_by = acting_user
    key.revoked_reason = (reason or "").strip()[:255]
    key.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    type(key.user).objects.filter(pk=key.user_id).update(is_active=False)
    logger.info("API key %s revoked by %s", key.prefix, acting_user.pk)
    return key


def record_use(key: ApiKey, *, address: str | None) -> None:
    """Note when and where from the key was last used: one write a minute at most."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < USE_RECORDED_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=address)
    key.last_used_at, key.last_used_ip = now, address
