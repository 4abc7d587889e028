"""The REST API's own records: integrations' keys and the answers kept for retried creates."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What a key may do. A resource's ``write`` scope includes reading it."""

    TICKETS_READ = "tickets:read", _("Tickets: read")
    TICKETS_WRITE = "tickets:write", _("Tickets: read and work (reply, note, status, assign)")
    CUSTOMERS_READ = "customers:read", _("Customers: look up (masked)")
    CUSTOMERS_PERSONAL = "customers:personal", _("Customers: contacts in full")
    CALLS_WRITE = "calls:write", _("Calls: send call records")
    ARTICLES_READ = "articles:read", _("Knowledge articles: read drafts too")


class ApiKey(models.Model):
    """One integration's key. The secret is shown once, when the key is made; only its
    SHA-256 is kept (the secret is 32 random bytes, so a fast hash is enough: there is
    nothing to guess). ``prefix`` finds the row; the hash proves the rest. The key acts as
    ``user``, a service account made for it that cannot sign in anywhere else, so every
    ticket event and message it writes names the integration."""

    name = models.CharField(_("key name"), max_length=100, unique=True)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(_("secret hash"), max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="api_key",
        verbose_name=_("acts as"),
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
        editable=False,
    )
    revoked_reason = models.CharField(_("why revoked"), max_length=255, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(
        _("last used from"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def allows(self, scope: str) -> bool:
        """Whether the key holds ``scope``; "<resource>:write" includes "<resource>:read"."""
        resource, _colon, level = scope.partition(":")
        held = set(self.scopes or [])
        return scope in held or (level == "read" and f"{resource}:write" in held)


class IdempotentRequest(models.Model):
    """A create sent with an ``Idempotency-Key``: its answer, kept so that a retry with the
    same key gets the same answer instead of a second ticket. ``caller`` names who sent it
    (a key, an agent, a customer), so two callers' keys never meet."""

    caller = models.CharField(_("caller"), max_length=40)
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("answer status"))
    body = models.JSONField(_("answer"), default=dict)
    location = models.CharField(_("answer's Location"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotent_request_once")
        ]

    def __str__(self):
        return f"{self.caller} {self.key}"
