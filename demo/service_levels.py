"""Demo service levels and routing: the queues of the issue (account, transactions,
security, feedback and suggestions) with the demo staff in them, SLA policies from
settings.TICKET_SLA_HOURS (and a stricter one for security tickets, which reassigns on a
breach), and routing rules in Chinese and English. Idempotent: found by natural keys."""

from django.conf import settings

from tickets.models import Queue, RoutingRule, SLAPolicy, Ticket

QUEUES = (
    ("account", "账户 Account"),
    ("transactions", "交易 Transactions"),
)
QUEUE_STAFF = ("agent", "supervisor")

# (priority, category, first response minutes, resolution minutes, reassign on breach)
STRICTER = ((Ticket.Priority.NORMAL, Ticket.Category.SECURITY, 60, 12 * 60, True),)

# (order, name, queue slug, fields)
RULES = (
    (5, "安全邮箱 security@", "security", {"support_address": "security@mywallet.example"}),
    (
        10,
        "账户安全 Account security",
        "security",
        {
            "keywords": "冻结\n被盗\n盗刷\n异常登录\nfrozen\nhacked\nstolen\nfraud",
            "set_category": Ticket.Category.SECURITY,
            "set_priority": Ticket.Priority.HIGH,
        },
    ),
    (
        20,
        "支付失败 Payment failed",
        "transactions",
        {
            "keywords": "支付失败\n付款失败\n扣款\n退款\npayment failed\nrefund\ncharged twice",
            "set_category": Ticket.Category.TRANSACTION,
        },
    ),
    (
        30,
        "账户问题 Account",
        "account",
        {
            "keywords": "密码\n登录\n实名\n手机号\npassword\nlog in\nlogin\nlocked",
            "set_category": Ticket.Category.ACCOUNT,
        },
    ),
    (
        40,
        "意见建议 Suggestions",
        "feedback",
        {
            "keywords": "建议\n意见\nsuggestion\nfeedback",
            "set_category": Ticket.Category.FEEDBACK,
        },
    ),
)


def seed_service_levels(*, users: dict, created) -> None:
    """Create what is missing; ``created`` counts it (demo.data.SeedResult.created)."""
    for slug, name in QUEUES:
        queue, made = Queue.objects.get_or_create(slug=slug, defaults={"name": name})
        created["queues"] += made
        queue.agents.add(*(users[username] for username in QUEUE_STAFF))
    for name, (first_response, resolution) in settings.TICKET_SLA_HOURS.items():
        _policy(Ticket.Priority[name.upper()], "", first_response * 60, resolution * 60, created)
    for priority, category, first_response, resolution, reassign in STRICTER:
        _policy(priority, category, first_response, resolution, created, reassign=reassign)
    for order, name, slug, fields in RULES:
        _rule, made = RoutingRule.objects.get_or_create(
            name=name, defaults={"order": order, "queue": Queue.objects.get(slug=slug), **fields}
        )
        created["routing rules"] += made


def _policy(priority, category, first_response, resolution, created, *, reassign=False):
    _row, made = SLAPolicy.objects.get_or_create(
        priority=priority,
        category=category,
        defaults={
            "first_response_minutes": first_response,
            "resolution_minutes": resolution,
            "reassign_on_breach": reassign,
        },
    )
    created["SLA policies"] += made
