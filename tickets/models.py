import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from accounts.fields import EncryptedBinaryField, EncryptedTextField
from mywallet_support.pii import mask_text


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Web chat")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    WEIBO = "weibo", _("Weibo")
    WEB = "web", _("Web form")
    API = "api", _("API")


class Queue(models.Model):
    """A group of agents and the tickets routed to it (hotline, security, feedback...)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="queues", verbose_name=_("agents")
    )

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Ticket(models.Model):
    class Category(models.TextChoices):
        ACCOUNT = "account", _("Account")
        TRANSACTION = "transaction", _("Transaction")
        SECURITY = "security", _("Security")
        FEEDBACK = "feedback", _("Feedback")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        NEW = "new", _("New")
        OPEN = "open", _("Open")
        PENDING = "pending", _("Pending customer")
        ON_HOLD = "on_hold", _("On hold")
        SOLVED = "solved", _("Solved")
        CLOSED = "closed", _("Closed")

    class Priority(models.IntegerChoices):
        LOW = 1, _("Low")
        NORMAL = 2, _("Normal")
        HIGH = 3, _("High")
        URGENT = 4, _("Urgent")

    # Set from the primary key inside the creating transaction (see actions.open_ticket),
    # so two tickets created at the same moment can never share a reference.
    # NULL only until the primary key is known; unique constraints ignore NULLs.
    reference = models.CharField(  # noqa: DJ001
        _("reference"), max_length=20, unique=True, null=True, editable=False
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    customer = models.ForeignKey(
        "accounts.Customer",
        on_delete=models.PROTECT,
        related_name="tickets",
        verbose_name=_("customer"),
    )
    wallet = models.ForeignKey(
        "accounts.WalletAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("wallet account"),
    )
    # The customer a typed contact (a chat's phone or email) points at: a claim, never shown
    # as the customer until an agent's strong verification or the app's token links the
    # ticket to them (tickets.actions.claims). The ticket stays on a placeholder until then.
    claimed_identity = models.ForeignKey(
        "accounts.CustomerIdentity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("claimed identity"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    category = models.CharField(
        _("category"), max_length=12, choices=Category.choices, default=Category.OTHER
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("queue"),
    )
    related_transaction = models.ForeignKey(
        "accounts.Transaction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("related transaction"),
    )
    follows_up = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("follows up"),
    )
    # Email Cc. A Cc in a customer's mail is a claim made by whoever wrote it: it is only
    # proposed, and becomes a recipient of replies (``cc``) once an agent accepts it, or at
    # once when an authenticated sender copies in another of the customer's own addresses.
    cc = models.JSONField(_("Cc recipients"), default=list, blank=True)
    cc_proposed = models.JSONField(_("proposed Cc"), default=list, blank=True)
    satisfaction_score = models.PositiveSmallIntegerField(
        _("satisfaction (1-5)"), null=True, blank=True
    )
    satisfaction_comment = models.TextField(_("satisfaction comment"), blank=True)
    # When the customer last rated (chat or the survey link): the satisfaction report's day,
    # indexed as the dashboard reads a day's ratings by it (tickets.reports).
    satisfaction_rated_at = models.DateTimeField(_("rated"), null=True, blank=True, db_index=True)
    # Indexed for the dashboard's figures of a day (tickets.reports).
    first_response_due = models.DateTimeField(
        _("first response due"), null=True, blank=True, db_index=True
    )
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True, db_index=True)
    first_responded_at = models.DateTimeField(
        _("first response"), null=True, blank=True, db_index=True
    )
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last activity"), null=True, blank=True, db_index=True)
    # When the customer was last reminded of a ticket pending their answer (housekeeping).
    reminded_at = models.DateTimeField(_("customer reminded"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The inbox's columns, kept by the database or by thread.append so the list reads one
    # row per ticket (tickets.inbox): the due time that matters now (None once solved or
    # closed), and the start of the latest message to or from the customer.
    sla_due = models.GeneratedField(
        # The due time the team works against (tickets.sla): none while the clock stops
        # (pending the customer, solved, closed), the first response's until answered.
        expression=models.Case(
            models.When(status__in=["pending", "solved", "closed"], then=None),
            models.When(
                first_responded_at__isnull=True,
                then=Coalesce(models.F("first_response_due"), models.F("resolution_due")),
            ),
            default=models.F("resolution_due"),
        ),
        output_field=models.DateTimeField(_("SLA due"), null=True),
        db_persist=True,
    )
    last_message_preview = models.CharField(_("latest message"), max_length=160, blank=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-last_message_at"], name="ticket_status_recent"),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_recent"),
            # The inbox's order (SLA due, priority, last activity), alone and behind the
            # saved views' filters, so a page of 50 is read from an index at any size.
            models.Index(
                fields=["sla_due", "-priority", "-last_message_at", "-id"], name="inbox_due"
            ),
            models.Index(
                fields=["assignee", "sla_due", "-priority", "-last_message_at", "-id"],
                name="inbox_assignee_due",
            ),
            models.Index(
                fields=["status", "sla_due", "-priority", "-last_message_at", "-id"],
                name="inbox_status_due",
            ),
            # The API's ticket list: newest change first, alone and by status
            # (/api/tickets/?status=open), so a page is read from an index at any size.
            models.Index(fields=["-updated_at", "-id"], name="ticket_changed"),
            models.Index(fields=["status", "-updated_at", "-id"], name="ticket_status_changed"),
            # The dashboard's counts of right now, read from the index alone (tickets.reports).
            models.Index(
                fields=["status", "queue", "assignee", "sla_due"], name="ticket_open_figures"
            ),
        ]

    def __str__(self):
        # Breadcrumbs, titles, lists and links name a ticket by this: the subject is the
        # sender's own text, so any personal data in it is shown masked.
        return f"{self.reference} {mask_text(self.subject)}".strip()

    @property
    def is_open(self) -> bool:
        return self.status not in (self.Status.SOLVED, self.Status.CLOSED)


class Message(models.Model):
    """One entry in a ticket's thread, from any channel."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("From the customer")
        OUTBOUND = "outbound", _("To the customer")
        NOTE = "note", _("Internal note")

    class Delivery(models.TextChoices):
        NOT_APPLICABLE = "", _("Not applicable")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ticket_messages",
        verbose_name=_("agent"),
    )
    sender = models.ForeignKey(
        "accounts.CustomerIdentity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("sent from"),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(_("sanitised HTML"), blank=True)
    # The channel's own id (email Message-ID, WeChat MsgId, chat client_id...): one per channel.
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    delivery_status = models.CharField(
        _("delivery"), max_length=10, choices=Delivery.choices, blank=True, default=""
    )
    delivery_error = models.TextField(_("delivery error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    metadata = models.JSONField(_("channel metadata"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~models.Q(external_id=""),
                name="unique_message_external_id_per_channel",
            )
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_ticket_time"),
            # The unique constraint above is partial, and SQLite cannot use a partial index
            # for "external_id = %s" (it cannot prove the value is not ''): lookups by id
            # (duplicates, threading) need this plain one.
            models.Index(fields=["channel", "external_id"], name="message_channel_external_id"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} #{self.pk}"


class SensitiveValue(models.Model):
    """A piece of personal data written in a message (an ID or card number, a phone number,
    an email address): kept here encrypted, while the message's text holds its masked form
    in its place. ``fingerprint`` is a keyed hash of the normalised value, so a search for
    the number an agent types finds the message without the number being stored in clear.
    ``position`` orders a message's values as they appear in it. Read in full only through
    the audited reveal."""

    class Kind(models.TextChoices):
        ID_NUMBER = "id_number", _("ID number")
        CARD = "card", _("Bank card number")
        PHONE = "phone", _("Phone number")
        EMAIL = "email", _("Email address")
        PASSPORT = "passport", _("Passport number")

    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="sensitive_values",
        verbose_name=_("message"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(_("position"))
    masked = models.CharField(_("masked"), max_length=100)
    value = EncryptedTextField(_("value"), editable=False)
    fingerprint = models.CharField(_("fingerprint"), max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("personal data in a message")
        verbose_name_plural = _("personal data in messages")
        ordering = ["message", "position"]
        # accounts.permissions.REVEAL_PERSONAL_DATA: the audited reveal's.
        permissions = [("reveal_sensitivevalue", _("Can reveal personal data in messages"))]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "position"], name="sensitive_value_position_once"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.masked}"


def attachment_path(instance, filename):
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    content_id = models.CharField(
        _("content id"), max_length=255, blank=True, help_text=_("For inline cid: images.")
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.name


class InboundMessage(models.Model):
    """A payload exactly as received, stored before anything parses it, so nothing is lost.
    ``raw`` is encrypted at rest (it holds whatever the customer wrote, card numbers
    included) and is shown to people only through the audited tickets.actions.read_raw."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be processed")
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate")
        QUARANTINED = "quarantined", _("Quarantined")
        FAILED = "failed", _("Failed")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    raw = EncryptedBinaryField(_("raw payload"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    source = models.CharField(
        _("source"),
        max_length=255,
        blank=True,
        help_text=_("Transport and mailbox, file or endpoint."),
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    reason = models.TextField(_("reason"), blank=True)
    message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("message"),
    )
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound payload")
        verbose_name_plural = _("inbound payloads")
        ordering = ["-received_at"]

    def __str__(self):
        return f"{self.get_channel_display()} #{self.pk} ({self.get_status_display()})"


class CallLog(models.Model):
    """A hotline call, as reported by the telephony system or logged by an agent."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Answered")
        MISSED = "missed", _("Missed")
        VOICEMAIL = "voicemail", _("Voicemail")
        ABANDONED = "abandoned", _("Abandoned in queue")

    # NULL for calls logged by hand: unique only among the telephony system's ids.
    external_id = models.CharField(_("call id"), max_length=100, unique=True, null=True, blank=True)
    caller_number = models.CharField(_("caller number"), max_length=32)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.INBOUND
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.ANSWERED
    )
    started_at = models.DateTimeField(_("started"))
    duration = models.DurationField(_("duration"), null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("agent"),
    )
    recording_ref = models.CharField(_("recording"), max_length=255, blank=True)
    customer = models.ForeignKey(
        "accounts.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("customer"),
    )
    ticket = models.ForeignKey(
        Ticket,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="calls",
        verbose_name=_("ticket"),
    )

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.get_direction_display()} {self.started_at:%Y-%m-%d %H:%M}"


class Callback(models.Model):
    """A call the hotline owes a customer: a missed call reported by the telephony system,
    or a customer's request from the web while the hotline was busy. Agents work them in
    due order from the admin's queue and mark them done."""

    class Source(models.TextChoices):
        MISSED_CALL = "missed_call", _("Missed call")
        WEB = "web", _("Web request")

    class Status(models.TextChoices):
        OPEN = "open", _("To call back")
        DONE = "done", _("Done")

    phone = models.CharField(_("phone number"), max_length=32)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=6, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    due_at = models.DateTimeField(_("due"), db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    customer = models.ForeignKey(
        "accounts.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="callbacks",
        verbose_name=_("customer"),
    )
    call = models.OneToOneField(
        CallLog,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="callback",
        verbose_name=_("missed call"),
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["due_at"]

    def __str__(self):
        return f"{self.get_source_display()} {self.due_at:%Y-%m-%d %H:%M}"


class TicketEvent(models.Model):
    """What happened to a ticket and who did it: assignment, status, merge, reply..."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        MESSAGE = "message", _("Message received")
        REPLY = "reply", _("Reply")
        NOTE = "note", _("Internal note")
        ASSIGNED = "assigned", _("Assigned")
        STATUS = "status", _("Status changed")
        REOPENED = "reopened", _("Reopened")
        CHANGED = "changed", _("Details changed")
        CHAT_ENDED = "chat_ended", _("Chat ended")
        RATED = "rated", _("Rated")
        CUSTOMER_MERGED = "customer_merged", _("Customer merged")
        CC_PROPOSED = "cc_proposed", _("Cc proposed")
        CC_ACCEPTED = "cc_accepted", _("Cc accepted")
        CC_REMOVED = "cc_removed", _("Cc removed")
        MERGED_INTO = "merged_into", _("Merged into another ticket")
        MERGED_FROM = "merged_from", _("Another ticket merged in")
        ROUTED = "routed", _("Routed")
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        REMINDED = "reminded", _("Customer reminded")
        VALUE_REVEALED = "value_revealed", _("Personal data revealed")
        PII_WARNED = "pii_warned", _("Customer warned about personal data")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", verbose_name=_("ticket")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.get_kind_display()


# --- the knowledge base and macros ------------------------------------------------------------

# The placeholders a macro may use, each filled by tickets.macros.render_macro for a ticket.
MACRO_PLACEHOLDERS = ("customer_name", "ticket_reference", "agent_name", "queue")
MACRO_PLACEHOLDER = re.compile(r"\{([^{}\s]*)\}")
PLACEHOLDER_HELP = _(
    "Placeholders: {customer_name}, {ticket_reference}, {agent_name}, {queue}; "
    "a missing customer name is left out."
)


class Article(models.Model):
    """A help article, in English and Simplified Chinese side by side: one row per question,
    so /help/<slug>/ is the same page in both languages.

    Bodies are plain text with a little markup (tickets.knowledge.render_body): blank lines
    part paragraphs, lines starting with "- " make a list, [text](/path) a link. Keywords
    (comma-separated, either language) suggest the article in the chat."""

    class Category(models.TextChoices):
        PAYMENTS = "payments", _("Payments")
        ACCOUNT = "account", _("Your account")
        SECURITY = "security", _("Safety and security")

    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title_en = models.CharField(_("title (English)"), max_length=200)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    body_en = models.TextField(_("body (English)"))
    body_zh = models.TextField(_("body (Chinese)"))
    keywords_en = models.CharField(
        _("keywords (English)"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated words or phrases that suggest this article in the chat."),
    )
    keywords_zh = models.CharField(
        _("keywords (Chinese)"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated words or phrases that suggest this article in the chat."),
    )
    published = models.BooleanField(_("published"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("help article")
        verbose_name_plural = _("help articles")
        ordering = ["category", "position", "slug"]

    def __str__(self):
        return self.title_en

    def title(self, chinese: bool) -> str:
        return self.title_zh if chinese else self.title_en

    def body(self, chinese: bool) -> str:
        return self.body_zh if chinese else self.body_en

    def keywords(self) -> list[str]:
        """Both languages' keywords, lower-cased: a customer may write in either."""
        words = f"{self.keywords_en},{self.keywords_zh}".replace("，", ",").lower()
        return [word.strip() for word in words.split(",") if word.strip()]


class Macro(models.Model):
    """A canned reply with placeholders, in English and Chinese, for the ticket page's reply
    form and the chat console; sending it may also set the ticket's status. An empty queue
    means every queue."""

    title = models.CharField(_("title"), max_length=100)
    body_en = models.TextField(_("text (English)"), help_text=PLACEHOLDER_HELP)
    body_zh = models.TextField(_("text (Chinese)"), help_text=PLACEHOLDER_HELP)
    queue = models.ForeignKey(
        Queue,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="macros",
        verbose_name=_("queue"),
    )
    status = models.CharField(
        _("then set status"),
        max_length=10,
        choices=[(s, label) for s, label in Ticket.Status.choices if s != Ticket.Status.CLOSED],
        blank=True,
        help_text=_("Applied after the reply is sent; leave empty to keep the status."),
    )
    active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["position", "title"]

    def __str__(self):
        return self.title

    def clean(self):
        """Refuse a placeholder we cannot fill: the customer would see it as typed."""
        errors = {}
        for field in ("body_en", "body_zh"):
            unknown = sorted(
                {name for name in MACRO_PLACEHOLDER.findall(getattr(self, field))}
                - set(MACRO_PLACEHOLDERS)
            )
            if unknown:
                errors[field] = _("Unknown placeholder %(names)s; use %(known)s.") % {
                    "names": ", ".join(f"{{{name}}}" for name in unknown),
                    "known": ", ".join(f"{{{name}}}" for name in MACRO_PLACEHOLDERS),
                }
        if errors:
            raise ValidationError(errors)


class SLAPolicy(models.Model):
    """Service levels for tickets of a priority, and optionally of one category: a row with
    the ticket's category wins over the priority's row without one; with no active row,
    settings.TICKET_SLA_HOURS applies (tickets.actions.lifecycle.sla_due)."""

    priority = models.PositiveSmallIntegerField(_("priority"), choices=Ticket.Priority.choices)
    category = models.CharField(
        _("category"),
        max_length=12,
        choices=Ticket.Category.choices,
        blank=True,
        help_text=_("Empty: every category without a policy of its own."),
    )
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"))
    reassign_on_breach = models.BooleanField(
        _("reassign on breach"),
        default=False,
        help_text=_("Give a breached ticket to the least-loaded agent of its queue."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["-priority", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["priority", "category"], name="unique_sla_policy_per_priority_category"
            )
        ]

    def __str__(self):
        category = self.get_category_display() if self.category else _("any category")
        return f"{self.get_priority_display()} / {category}"


class RoutingRule(models.Model):
    """Where a new ticket goes: the first active rule (by order) whose conditions all match
    sends it to its queue, and may set its category and priority
    (tickets.actions.routing). A rule without conditions catches every new ticket."""

    name = models.CharField(_("rule name"), max_length=100)
    order = models.PositiveIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, related_name="routing_rules", verbose_name=_("queue")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    support_address = models.EmailField(
        _("support address"), blank=True, help_text=_("The address an email was sent to.")
    )
    category = models.CharField(
        _("category"), max_length=12, choices=Ticket.Category.choices, blank=True
    )
    keywords = models.TextField(
        _("keywords"),
        blank=True,
        help_text=_(
            "One a line, Chinese or English; any one found in the subject or the text matches "
            "(case does not matter)."
        ),
    )
    set_category = models.CharField(
        _("set category"), max_length=12, choices=Ticket.Category.choices, blank=True
    )
    set_priority = models.PositiveSmallIntegerField(
        _("set priority"), choices=Ticket.Priority.choices, null=True, blank=True
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["order", "pk"]

    def __str__(self):
        return self.name


class DailyStats(models.Model):
    """The dashboard's figures of one day that has ended, in one time zone (a day's
    boundaries depend on it): stored once by ``tickets.rollups``, read ever after."""

    day = models.DateField(_("day"))
    time_zone = models.CharField(_("time zone"), max_length=64)
    figures = models.JSONField(_("figures"))
    computed_at = models.DateTimeField(_("computed"), auto_now_add=True)

    class Meta:
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(fields=["time_zone", "day"], name="daily_stats_one_per_day")
        ]

    def __str__(self):
        return f"{self.day} {self.time_zone}"
