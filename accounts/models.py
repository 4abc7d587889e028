from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import (
    CooldownMixin,
    SideChannelDevice,
    ThrottlingMixin,
    VerifyNotAllowed,
)

from mywallet_support.masking import mask_email, mask_id_number, mask_identity, mask_phone

from .fields import EncryptedTextField
from .otp import locked_until, token_matches


class Customer(models.Model):
    """A person. One customer, many identities (email, phone, WeChat, Weibo, web)."""

    class Language(models.TextChoices):
        CHINESE = "zh-hans", _("Simplified Chinese")
        ENGLISH = "en", _("English")

    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=Language.choices, default=Language.CHINESE
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("wallet login"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer",
        help_text=_("The signed-in wallet user this customer is, if any."),
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        editable=False,
    )
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at"]
        permissions = [("merge_customer", _("Can merge customers"))]

    def __str__(self):
        return self.name or _("Customer #%(id)s") % {"id": self.pk}


class CustomerIdentity(models.Model):
    """One way of reaching a customer; (kind, normalised value) is unique across customers."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")
        WECHAT = "wechat", _("WeChat")
        WEIBO = "weibo", _("Weibo")
        WEB = "web", _("Web chat")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identities", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    value = models.CharField(_("value"), max_length=255)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    undeliverable = models.BooleanField(
        _("undeliverable"), default=False, help_text=_("Mail to it bounced permanently.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer identity")
        verbose_name_plural = _("customer identities")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="unique_identity_kind_value")
        ]
        ordering = ["kind", "value"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.masked_value}"

    @property
    def masked_value(self) -> str:
        return mask_identity(self.kind, self.value)


class WalletAccount(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        LOCKED = "locked", _("Locked")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", _("Closed")

    class LockReason(models.TextChoices):
        NONE = "", _("None")
        WRONG_PASSWORD = "wrong_password", _("Too many wrong payment passwords")
        SECURITY_POLICY = "security_policy", _("Security policy")
        RISK = "risk", _("Risk rule")
        CUSTOMER_REQUEST = "customer_request", _("Customer request")
        AGENT = "agent", _("Agent action")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="wallets", verbose_name=_("customer")
    )
    number = models.CharField(_("account number"), max_length=32, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    lock_reason = models.CharField(
        _("lock reason"), max_length=20, choices=LockReason.choices, blank=True, default=""
    )
    failed_password_attempts = models.PositiveSmallIntegerField(
        _("failed payment-password attempts"), default=0
    )
    payment_password = models.CharField(_("payment password"), max_length=128, editable=False)
    registered_phone = models.CharField(_("registered phone"), max_length=32, blank=True)
    registered_email = models.EmailField(_("registered email"), blank=True)
    national_id = EncryptedTextField(_("national ID number"), blank=True, editable=False)
    balance = models.DecimalField(_("balance"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("wallet account")
        verbose_name_plural = _("wallet accounts")
        ordering = ["number"]
        indexes = [
            # Finding a wallet by the contact it was registered with (the API's look-up,
            # self-service): an exact phone, an email in any case.
            models.Index(fields=["registered_phone"], name="wallet_registered_phone"),
            models.Index(Lower("registered_email"), name="wallet_registered_email"),
        ]
        permissions = [
            ("unlock_walletaccount", _("Can unlock a wallet account")),
            ("freeze_walletaccount", _("Can freeze a wallet account")),
            ("unfreeze_walletaccount", _("Can unfreeze a wallet account")),
            ("change_protected_details", _("Can change protected wallet details")),
        ]

    def __str__(self):
        return self.number

    def set_payment_password(self, raw_password: str) -> None:
        self.payment_password = make_password(raw_password)

    def check_payment_password(self, raw_password: str) -> bool:
        return bool(self.payment_password) and check_password(raw_password, self.payment_password)

    @property
    def masked_national_id(self) -> str:
        return mask_id_number(self.national_id)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.registered_phone)

    @property
    def masked_email(self) -> str:
        return mask_email(self.registered_email)


class BankCard(models.Model):
    class Kind(models.TextChoices):
        DEBIT = "debit", _("Debit card")
        CREDIT = "credit", _("Credit card")

    account = models.ForeignKey(
        WalletAccount, on_delete=models.CASCADE, related_name="cards", verbose_name=_("wallet")
    )
    bank = models.CharField(_("bank"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DEBIT)
    # Only the last four digits are ever stored; the full number stays with the card network.
    last4 = models.CharField(_("last four digits"), max_length=4)
    bound_at = models.DateTimeField(_("bound"), auto_now_add=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bank card")
        verbose_name_plural = _("bank cards")
        ordering = ["-bound_at"]

    def __str__(self):
        return f"{self.bank} {self.masked_number}"

    @property
    def masked_number(self) -> str:
        return f"**** **** **** {self.last4}"


class Transaction(models.Model):
    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Payment")
        TOP_UP = "top_up", _("Top-up")
        TRANSFER = "transfer", _("Transfer")
        REFUND = "refund", _("Refund")
        WITHDRAWAL = "withdrawal", _("Withdrawal")

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        PENDING = "pending", _("Pending")
        REVERSED = "reversed", _("Reversed")

    class FailureReason(models.TextChoices):
        NONE = "", _("None")
        NETWORK = "network", _("Network error")
        INSUFFICIENT_BALANCE = "insufficient_balance", _("Insufficient balance")
        WRONG_PASSWORD = "wrong_password", _("Wrong payment password")
        RISK_BLOCKED = "risk_blocked", _("Blocked by risk control")
        CARD_DECLINED = "card_declined", _("Card declined")
        LIMIT_EXCEEDED = "limit_exceeded", _("Limit exceeded")
        ACCOUNT_LOCKED = "account_locked", _("Account locked or frozen")
        OTHER = "other", _("Other")

    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.CASCADE,
        related_name="transactions",
        verbose_name=_("wallet"),
    )
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PAYMENT)
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    merchant = models.CharField(_("merchant"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    failure_reason = models.CharField(
        _("failure reason"), max_length=24, choices=FailureReason.choices, blank=True, default=""
    )
    card = models.ForeignKey(
        BankCard, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("card")
    )
    occurred_at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["account", "-occurred_at"], name="txn_account_recent")]

    def __str__(self):
        return f"{self.reference} {self.amount} {self.currency} ({self.get_status_display()})"

    @property
    def failed(self) -> bool:
        return self.status == self.Status.FAILED


class AccountEvent(models.Model):
    """Append-only audit trail of everything that touches a customer or a wallet."""

    class ActorKind(models.TextChoices):
        AGENT = "agent", _("Agent")
        CUSTOMER = "customer", _("Customer")
        SYSTEM = "system", _("System")

    class Action(models.TextChoices):
        CUSTOMER_CREATED = "customer_created", _("Customer created")
        IDENTITY_ADDED = "identity_added", _("Identity added")
        CUSTOMERS_MERGED = "customers_merged", _("Customers merged")
        UNLOCK = "unlock", _("Account unlocked")
        LOCK = "lock", _("Account locked")
        FREEZE = "freeze", _("Account frozen")
        UNFREEZE = "unfreeze", _("Account unfrozen")
        PAYMENT_PASSWORD_RESET = "payment_password_reset", _("Payment password reset")
        CONTACT_CHANGED = "contact_changed", _("Contact details changed")
        NATIONAL_ID_CHANGED = "national_id_changed", _("National ID number changed")
        IDENTITY_VERIFIED = "identity_verified", _("Identity verified")
        VERIFICATION_FAILED = "verification_failed", _("Identity verification failed")
        CODE_SENT = "code_sent", _("One-time code sent")
        CODE_FAILED = "code_failed", _("Wrong one-time code")
        UNFREEZE_REQUESTED = "unfreeze_requested", _("Unfreeze requested")
        APPROVAL_REJECTED = "approval_rejected", _("Request rejected")
        NATIONAL_ID_CHANGE_REQUESTED = (
            "national_id_change_requested",
            _("National ID number change requested"),
        )
        PAYMENT_PASSWORD_FAILED = "payment_password_failed", _("Wrong payment password")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        RISK_ALERT = "risk_alert", _("Risk alert")
        CUSTOMER_NOTIFIED = "customer_notified", _("Customer notified")
        # Shared with the reveal of one value (issue 16): a raw payload read in full too.
        PERSONAL_DATA_REVEALED = "personal_data_revealed", _("Personal data revealed")

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="events", verbose_name=_("customer")
    )
    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("wallet"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account_events",
        verbose_name=_("ticket"),
    )
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    reason = models.TextField(_("reason"), blank=True)
    verification = models.JSONField(_("verification"), default=dict, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Set by accounts.audit.append_events under the chain's lock, before the hash is taken
    # (auto_now_add would set it again at insert, after hashing).
    created_at = models.DateTimeField(
        _("time"), default=timezone.now, editable=False, db_index=True
    )
    # The hash chain (accounts.audit): each row's hash covers its content and the previous
    # row's hash, so an edited or deleted row breaks the chain (`manage.py verify_audit`).
    sequence = models.PositiveBigIntegerField(
        _("sequence"), unique=True, null=True, blank=True, editable=False
    )
    previous_hash = models.CharField(_("previous hash"), max_length=64, blank=True, editable=False)
    hash = models.CharField(_("hash"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account events")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs):
        # Append-only: the audit trail is never rewritten, by the admin or by code.
        if self.pk is not None:
            raise ValueError("AccountEvent rows are append-only.")
        if self.sequence is None:
            raise ValueError("AccountEvent rows are appended through accounts.audit.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("AccountEvent rows are append-only.")


class Verification(models.Model):
    """A check of a customer's identity on a ticket: which checks passed, how strong the
    result is, and until when it may authorise a security action. An agent's check names the
    agent; a check with no agent is the MY Wallet app's (a valid identity token for this
    wallet, ``checks_passed == ["app_token"]``), which any agent on the ticket may rely on.
    The customer's answers are never stored in clear (only a keyed digest)."""

    class Strength(models.TextChoices):
        NONE = "none", _("Not verified")
        WEAK = "weak", _("Weak (knowledge only)")
        STRONG = "strong", _("Strong (own device or app)")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        related_name="verifications",
        verbose_name=_("ticket"),
    )
    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.PROTECT,
        related_name="verifications",
        verbose_name=_("wallet"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
        help_text=_("Empty when the MY Wallet app verified the customer."),
    )
    checks_passed = models.JSONField(_("checks passed"), default=list, blank=True)
    checks_failed = models.JSONField(_("checks failed"), default=list, blank=True)
    strength = models.CharField(
        _("strength"), max_length=10, choices=Strength.choices, default=Strength.NONE
    )
    answers_digest = models.CharField(_("answers digest"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("identity verification")
        verbose_name_plural = _("identity verifications")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_strength_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def by_app(self) -> bool:
        return self.agent_id is None

    @property
    def verified_by(self) -> str:
        """Who verified: the agent's name, or the app."""
        if self.agent_id is None:
            return str(_("the MY Wallet app"))
        return self.agent.get_full_name() or self.agent.get_username()


class CodeDevice(CooldownMixin, ThrottlingMixin, SideChannelDevice):
    """A one-time code sent to a wallet's registered phone or email (or, for a contact
    change, to the new one): django-otp's side-channel device with its cool-down (resend
    after a minute) and throttling (back-off after wrong tries). The token is stored as a
    keyed digest, never in clear. Devices belong to a wallet, not to a login, so ``user``
    is optional here."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone (SMS)")
        EMAIL = "email", _("Email")

    class Purpose(models.TextChoices):
        VERIFICATION = "verification", _("Identity verification")
        PAYMENT_PASSWORD_RESET = "payment_password_reset", _("Payment password reset")
        CONTACT_CHANGE_OLD = "contact_change_old", _("Contact change, old contact")
        CONTACT_CHANGE_NEW = "contact_change_new", _("Contact change, new contact")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="The customer's login, if any.",
    )
    # A digest, not the code; nullable as in django-otp, which clears it to None once used.
    token = models.CharField(max_length=128, blank=True, null=True)  # noqa: DJ001
    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.CASCADE,
        related_name="code_devices",
        verbose_name=_("wallet"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    destination = models.CharField(_("sent to"), max_length=255)
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ticket"),
    )
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta(SideChannelDevice.Meta):
        verbose_name = _("one-time code")
        verbose_name_plural = _("one-time codes")

    # django-otp's hooks; accounts.codes sends and checks codes through them.
    def get_cooldown_duration(self) -> int:
        return settings.CODE_RESEND_SECONDS

    def get_throttle_factor(self) -> int:
        return settings.CODE_THROTTLE_FACTOR

    def verify_is_allowed(self):
        """The first CODE_MAX_TRIES wrong codes are free; after that each further try
        waits CODE_THROTTLE_FACTOR seconds, doubling (django-otp's back-off, shifted)."""
        until = locked_until(self)
        if until is not None:
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": self.throttling_failure_count,
                "locked_until": until,
            }
        return True, None

    def verify_token(self, token):
        """Constant-time check of ``token`` against the stored digest; a match uses it up."""
        if not self.verify_is_allowed()[0]:
            return False
        now = timezone.now()
        if self.token and now < self.valid_until and token_matches(self, token):
            self.token = None
            self.valid_until = now
            self.used_at = now
            self.throttle_reset(commit=False)
            self.save()
            return True
        self.throttle_increment()
        return False


class ApprovalRequest(models.Model):
    """A change that needs a second person: unfreezing a wallet, or changing its national
    ID number. Whoever requested it can never be the one who approves it."""

    class Kind(models.TextChoices):
        UNFREEZE = "unfreeze", _("Unfreeze")
        NATIONAL_ID_CHANGE = "national_id_change", _("National ID number change")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.PROTECT,
        related_name="approval_requests",
        verbose_name=_("wallet"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_requests",
        verbose_name=_("ticket"),
    )
    verification = models.ForeignKey(
        Verification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verification"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    new_value = EncryptedTextField(_("new value"), blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)

    class Meta:
        verbose_name = _("approval request")
        verbose_name_plural = _("approval requests")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request of each kind per wallet.
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=models.Q(status="pending"),
                name="one_pending_approval_per_kind",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.account} ({self.get_status_display()})"


class WalletEvent(models.Model):
    """An event from the wallet core (POST /api/wallet-events/), stored as received.

    A request refused before its signature was proven (too large, bad signature) is kept as
    a bounded sample instead: the first bytes in ``body``, with the digest and size of what
    was received and the client address; the same body from the same address within the
    hour adds to ``repeats`` rather than a row (accounts.actions.wallet_events.sample_refused).
    """

    class Status(models.TextChoices):
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    event_id = models.CharField(_("event id"), max_length=100, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=40, blank=True)
    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wallet_events",
        verbose_name=_("wallet"),
    )
    body = models.BinaryField(_("body as received"))
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROCESSED
    )
    reason = models.TextField(_("reason"), blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    body_sha256 = models.CharField(_("SHA-256 of the body"), max_length=64, blank=True)
    body_size = models.PositiveBigIntegerField(_("body size in bytes"), null=True, blank=True)
    repeats = models.PositiveIntegerField(_("times received"), default=1)

    class Meta:
        verbose_name = _("wallet event")
        verbose_name_plural = _("wallet events")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.kind or '?'} {self.event_id or ''}".strip()


class KnownDevice(models.Model):
    """A device the wallet core has seen this account use (risk rule: a new device with a
    large amount). Only a digest of the device id is kept."""

    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.CASCADE,
        related_name="known_devices",
        verbose_name=_("wallet"),
    )
    device_digest = models.CharField(_("device digest"), max_length=64)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_seen_at = models.DateTimeField(_("last seen"), auto_now=True)

    class Meta:
        verbose_name = _("known device")
        verbose_name_plural = _("known devices")
        constraints = [
            models.UniqueConstraint(fields=["account", "device_digest"], name="unique_known_device")
        ]

    def __str__(self):
        return f"{self.account} {self.device_digest[:8]}"


class AppTokenUse(models.Model):
    """An identity token from the MY Wallet app that has been used (accounts.app_identity):
    each token id (``jti``) is accepted once. Rows are deleted once the token has expired."""

    jti = models.CharField(_("token id"), max_length=64, unique=True)
    audience = models.CharField(_("audience"), max_length=64)
    account = models.ForeignKey(
        WalletAccount, on_delete=models.CASCADE, related_name="+", verbose_name=_("wallet")
    )
    key_id = models.CharField(_("key id"), max_length=64)
    used_at = models.DateTimeField(_("used"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        verbose_name = _("app identity token")
        verbose_name_plural = _("app identity tokens")

    def __str__(self):
        return f"{self.audience} {self.jti[:8]}"


class DeviceConfirmation(models.Model):
    """A link sent to a wallet's registered phone or email, for the customer to confirm on
    their own device that they are the one talking to an agent (or to confirm a new
    contact). The customer never tells anyone anything: whoever opens the link on the
    registered contact answers yes or no. Only a keyed digest of the link's token is kept;
    a token is answered once, before ``expires_at``."""

    class Purpose(models.TextChoices):
        VERIFICATION = "verification", _("Identity verification")
        NEW_CONTACT = "new_contact", _("New contact")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the customer")
        CONFIRMED = "confirmed", _("Confirmed by the customer")
        DECLINED = "declined", _("Declined by the customer")
        UNDELIVERED = "undelivered", _("Not delivered")
        USED = "used", _("Used for a change")

    account = models.ForeignKey(
        WalletAccount,
        on_delete=models.CASCADE,
        related_name="device_confirmations",
        verbose_name=_("wallet"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("ticket"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=CodeDevice.Channel.choices)
    destination = models.CharField(_("sent to"), max_length=255)
    token_digest = models.CharField(_("token digest"), max_length=64, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    verification = models.ForeignKey(
        Verification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verification"),
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("device confirmation")
        verbose_name_plural = _("device confirmations")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_purpose_display()}: {self.get_status_display()}"

    @property
    def expired(self) -> bool:
        """Still waiting, but too late to answer."""
        return self.status == self.Status.PENDING and self.expires_at <= timezone.now()

    @property
    def masked_destination(self) -> str:
        return mask_identity(self.channel, self.destination)


class EnrolmentGrant(models.Model):
    """An administrator's permission for a staff account to enrol its first authenticator
    (accounts.enrolment): without one, a password alone never reaches the enrolment page.
    Only a keyed digest of the token is stored; the token is shown once, to the
    administrator who issued it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="enrolment_grants",
        verbose_name=_("user"),
    )
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment grant")
        verbose_name_plural = _("enrolment grants")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user}: {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def usable(self) -> bool:
        return self.used_at is None and self.expires_at > timezone.now()
