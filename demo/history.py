"""Two weeks of demo history, so the admin home's dashboard has something to show.

Fifty-six tickets spread over the last 14 days, by email, chat and the web form: most answered (some
after their first-response due time), many solved, half of the solved ones rated, a few
recent ones still waiting. Each goes through the real actions (``receive``, ``reply``,
``change_status``, ``record_rating``), exactly as if it happened now; then, because no
action can act in the past, one direct update per ticket moves its timestamps (and its
messages' and history's) back to when the story says it happened, and sets the SLA due
times from that opening with the same rule the actions use (``sla_due``). Nothing else is
written directly.

Idempotent: every ticket starts with a message whose external id is fixed
("demo-history-<n>"); a second run finds it already received and leaves the ticket alone.
The story is a pure function of the ticket's number (a random generator seeded with it), so
the figures look the same on every fresh seed, relative to the day it runs.
"""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from tickets import rollups
from tickets.actions import change_status, receive, record_rating, reply
from tickets.actions.lifecycle import sla_due
from tickets.inbound import Inbound
from tickets.models import Channel, Message, Ticket, TicketEvent

DAYS = 14
COUNT = 56
SCORES = (5, 4, 5, 3, 2, 4, 5, 1, 4, 5)

# (subject, first message, category, queue slug)
TOPICS = (
    (
        "支付失败 / Payment failed",
        "付款一直失败，提示网络异常。My payment keeps failing.",
        Ticket.Category.TRANSACTION,
        "general",
    ),
    (
        "重置支付密码 / Reset payment password",
        "忘记支付密码了，怎么重置？I forgot my payment password.",
        Ticket.Category.ACCOUNT,
        "general",
    ),
    (
        "账户被锁定 / Account locked",
        "我的账户被锁定了。My account is locked.",
        Ticket.Category.SECURITY,
        "security",
    ),
    (
        "更新个人信息 / Update my details",
        "我想更换绑定的手机号。I want to change my phone number.",
        Ticket.Category.ACCOUNT,
        "hotline",
    ),
    (
        "建议：增加账单导出 / Suggestion: export statements",
        "希望能导出月度账单。Please add statement export.",
        Ticket.Category.FEEDBACK,
        "feedback",
    ),
    (
        "退款进度 / Refund status",
        "退款三天了还没到账。My refund has not arrived.",
        Ticket.Category.TRANSACTION,
        "hotline",
    ),
)
COMMENTS = {
    5: "很快就解决了，谢谢！Solved quickly, thanks!",
    4: "Helpful, though I waited a while.",
    2: "等了太久才有人回复。Took too long to get an answer.",
    1: "问题没有解决。The problem is not solved.",
}
# (channel, the sender's kind, the sender, the name they give), drawn for each ticket; the
# customers are made from them. No WeChat, Weibo or phone: those channels answer only
# within a window after the customer's last message (or log a call), which back-dated
# history would have closed.
SENDERS = (
    (Channel.EMAIL, "email", "mei.chen@example.net", "陈美 Chen Mei"),
    (Channel.EMAIL, "email", "zhou.min@example.net", "周敏 Zhou Min"),
    (Channel.EMAIL, "email", "wu.gang@example.net", "吴刚 Wu Gang"),
    (Channel.CHAT, "web", "demo-history-session", "林小雅"),
    (Channel.CHAT, "web", "demo-history-session-2", "Tom Wu"),
    (Channel.WEB, "email", "sun.li@example.net", "孙丽 Sun Li"),
)


@dataclass(frozen=True)
class Story:
    """What happens to the n-th ticket: when it opens, how long the answer and the
    solving take (None: not yet), and its rating."""

    number: int
    opened: datetime
    answered_after: timedelta | None
    solved_after: timedelta | None
    score: int | None

    @property
    def answered(self) -> datetime | None:
        return self.opened + self.answered_after if self.answered_after else None

    @property
    def solved(self) -> datetime | None:
        return self.answered + self.solved_after if self.solved_after else None


def story(number: int, now: datetime) -> Story:
    """The n-th ticket's story, days back from ``now`` in the current time zone."""
    rng = random.Random(number)  # noqa: S311 - demo data, not a secret
    days_back = rng.randrange(DAYS)
    local_day = timezone.localdate(now) - timedelta(days=days_back)
    opened = datetime.combine(local_day, time(rng.randrange(8, 21), rng.randrange(60)))
    opened = min(timezone.make_aware(opened), now - timedelta(minutes=30 + number))
    # Minutes to the first answer: mostly within the normal 8 hours, one in five late.
    late = rng.random() < 0.2
    answered_after = timedelta(
        minutes=rng.randrange(5, 300) + (rng.randrange(480, 900) if late else 0)
    )
    if opened + answered_after > now or rng.random() < 0.1:
        return Story(number, opened, None, None, None)
    solved_after = timedelta(hours=rng.randrange(1, 60))
    if opened + answered_after + solved_after > now or rng.random() < 0.25:
        return Story(number, opened, answered_after, None, None)
    score = rng.choice(SCORES) if rng.random() < 0.6 else None
    return Story(number, opened, answered_after, solved_after, score)


def seed_history(*, agent, now: datetime | None = None) -> int:
    """Tell the stories not told yet; returns how many tickets it opened."""
    now = now or timezone.now()
    opened = 0
    for number in range(COUNT):
        received = receive(_first_message(number))
        if received.duplicate or not received.opened:
            continue
        _tell(received.ticket, story(number, now), agent=agent)
        opened += 1
    if opened:  # back-dated past the dashboard's stored days: computed again on next read
        rollups.forget(since=(now - timedelta(days=DAYS + 2)).date())
    return opened


def _first_message(number: int) -> Inbound:
    subject, text, category, queue = TOPICS[number % len(TOPICS)]
    channel, kind, sender, name = random.Random(f"sender-{number}").choice(SENDERS)  # noqa: S311
    return Inbound(
        channel=channel,
        sender_kind=kind,
        sender=sender,
        sender_name=name,
        subject=subject,
        text=text,
        external_id=f"demo-history-{number}",
        category=category,
        queue=queue,
        metadata={"to": ["support@mywallet.example"]} if channel == Channel.EMAIL else {},
    )


def _tell(ticket: Ticket, told: Story, *, agent) -> None:
    if told.answered:
        reply(ticket, acting_user=agent, body="我们已经查看了您的问题。We have looked into it.")
    if told.solved:
        change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    if told.score:
        record_rating(
            ticket, score=told.score, comment=COMMENTS.get(told.score, ""), channel=ticket.channel
        )
    _back_date(ticket, told)


def _back_date(ticket: Ticket, told: Story) -> None:
    """Move the ticket's timestamps to its story's (the one direct write, see above)."""
    first_due, resolution_due = sla_due(told.opened, ticket.priority)
    last = told.solved or told.answered or told.opened
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=told.opened,
        first_responded_at=told.answered,
        solved_at=told.solved,
        first_response_due=first_due,
        resolution_due=resolution_due,
        last_message_at=last,
    )
    # A rated story was rated when it was solved.
    Ticket.objects.filter(pk=ticket.pk, satisfaction_score__isnull=False).update(
        satisfaction_rated_at=told.solved
    )
    Message.objects.filter(ticket=ticket, direction=Message.Direction.INBOUND).update(
        created_at=told.opened
    )
    Message.objects.filter(ticket=ticket).exclude(direction=Message.Direction.INBOUND).update(
        created_at=told.answered or told.opened
    )
    events = TicketEvent.objects.filter(ticket=ticket)
    events.filter(kind__in=[TicketEvent.Kind.CREATED, TicketEvent.Kind.MESSAGE]).update(
        created_at=told.opened
    )
    events.filter(Q(kind=TicketEvent.Kind.REPLY) | Q(kind=TicketEvent.Kind.ASSIGNED)).update(
        created_at=told.answered or told.opened
    )
    events.filter(kind__in=[TicketEvent.Kind.STATUS, TicketEvent.Kind.RATED]).update(
        created_at=last
    )
