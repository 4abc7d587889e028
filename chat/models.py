"""Live chat: a conversation is a ticket on the chat channel, seen live.

The transcript is the ticket's thread (tickets.Message rows); what the chat adds is its
live state (waiting in a queue, held by an agent, offline, ended), agents' presence and
and their limit of concurrent chats. The console's canned replies are the tickets side's
macros (tickets.Macro).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for an agent")
        ACTIVE = "active", _("With an agent")
        OFFLINE = "offline", _("No agent online")
        ENDED = "ended", _("Ended")

    ticket = models.OneToOneField(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="conversation",
        verbose_name=_("ticket"),
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.WAITING, db_index=True
    )
    queue = models.ForeignKey(
        "tickets.Queue",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("queue"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chat_conversations",
        verbose_name=_("agent"),
    )
    # Who the customer is to us: their web identity, or the contact they gave.
    identity = models.ForeignKey(
        "accounts.CustomerIdentity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer identity"),
    )
    # The browser session that started it: only that session's socket may join.
    session_key = models.CharField(_("session"), max_length=64, blank=True, db_index=True)
    # The contact the customer typed (not verified: agents verify before acting on it).
    contact = models.CharField(_("contact given"), max_length=255, blank=True)
    # Customer sockets open now, kept by the consumers: with none, an agent's reply goes
    # out by email when the customer left an address (see chat.delivery).
    customer_sockets = models.PositiveIntegerField(_("customer sockets"), default=0)
    # When the MY Wallet app's signed token proved who the customer is (None: a guest, whose
    # typed contact is only a claim).
    verified_by_app_at = models.DateTimeField(_("verified by the app"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("chat conversation")
        verbose_name_plural = _("chat conversations")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["state", "started_at"], name="chat_conv_state_started"),
            models.Index(fields=["agent", "state"], name="chat_conv_agent_state"),
        ]

    def __str__(self):
        return f"{self.ticket.reference} ({self.get_state_display()})"

    @property
    def is_live(self) -> bool:
        return self.state != self.State.ENDED

    @property
    def verified_by_app(self) -> bool:
        return self.verified_by_app_at is not None


class AgentPresence(models.Model):
    class Status(models.TextChoices):
        ONLINE = "online", _("Online")
        AWAY = "away", _("Away")
        OFFLINE = "offline", _("Offline")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="chat_presence",
        verbose_name=_("agent"),
    )
    status = models.CharField(
        _("presence"), max_length=10, choices=Status.choices, default=Status.OFFLINE
    )
    # Empty: settings.CHAT_MAX_CHATS.
    max_chats = models.PositiveSmallIntegerField(
        _("maximum concurrent chats"),
        null=True,
        blank=True,
        help_text=_("Empty: the default for every agent."),
    )
    # Agent console sockets open now; the last one closing sets the agent offline.
    sockets = models.PositiveIntegerField(_("console sockets"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("agent presence")
        verbose_name_plural = _("agent presence")

    def __str__(self):
        return f"{self.user} ({self.get_status_display()})"

    @property
    def limit(self) -> int:
        return self.max_chats if self.max_chats is not None else settings.CHAT_MAX_CHATS
