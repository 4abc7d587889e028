from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import EncryptedTextField
from .masking import mask_email, mask_id_number, mask_identity, mask_phone


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
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

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
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("AccountEvent rows are append-only.")
