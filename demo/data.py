# Bilingual demo content: Chinese text uses full-width punctuation on purpose.
"""Demo data for local development and first looks: `manage.py seed_demo`.

Idempotent: everything is found by a natural key (username, queue slug, identity, wallet
number, transaction reference, message external id, call id) before it is created, so a
second run writes nothing. Tickets arrive the way real ones do, through
`tickets.actions.receive`, and agents answer through `reply` and `add_note`.

The demo staff logins, their authenticator keys and backup codes are fixed and public:
they exist to be typed in by a newcomer, never to guard anything real.
"""

import base64
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actions import add_identity, resolve_identity
from accounts.models import BankCard, Customer, CustomerIdentity, Transaction, WalletAccount
from accounts.roles import AGENTS, SUPERVISORS
from tickets.actions import add_note, change_status, receive, reply
from tickets.inbound import Inbound
from tickets.models import CallLog, Channel, Message, Queue, Ticket

from .history import seed_history
from .knowledge import seed_knowledge
from .service_history import seed_service_history
from .service_levels import seed_service_levels

TOTP_DEVICE_NAME = "Authenticator app (demo)"
BACKUP_DEVICE_NAME = "Backup codes"


# --- staff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoStaff:
    username: str
    password: str
    group: str | None  # None: a superuser, in no role group
    totp_key: str  # base32, as an authenticator app takes it
    backup_codes: tuple[str, ...]
    first_name: str = ""
    last_name: str = ""
    queues: tuple[str, ...] = ()

    @property
    def superuser(self) -> bool:
        return self.group is None

    @property
    def hex_key(self) -> str:
        return base64.b32decode(self.totp_key).hex()


DEMO_STAFF = (
    DemoStaff(
        username="agent",
        password="agent-demo-2026",  # noqa: S106 - public demo login
        group=AGENTS,
        totp_key="MYWALLETDEMOAGENTTOTPKEYSECRETAA",
        backup_codes=tuple(f"agent-backup-{n}" for n in range(1, 6)),
        first_name="小雨",
        last_name="周",
        queues=("hotline", "general", "feedback"),
    ),
    DemoStaff(
        username="supervisor",
        password="supervisor-demo-2026",  # noqa: S106 - public demo login
        group=SUPERVISORS,
        totp_key="MYWALLETDEMOSUPERVISORTOTPKEYAAA",
        backup_codes=tuple(f"super-backup-{n}" for n in range(1, 6)),
        first_name="建国",
        last_name="孙",
        queues=("hotline", "security", "feedback", "general"),
    ),
    DemoStaff(
        username="admin",
        password="admin-demo-2026",  # noqa: S106 - public demo login
        group=None,
        totp_key="MYWALLETDEMOADMINTOTPKEYSECRETAA",
        backup_codes=tuple(f"admin-backup-{n}" for n in range(1, 6)),
    ),
)

QUEUES = (
    ("hotline", "24小时热线 Hotline"),
    ("security", "账户安全 Security"),
    ("feedback", "意见建议 Feedback and suggestions"),
    ("general", "综合咨询 General"),
)


def current_code(device: TOTPDevice) -> str:
    """The code the device's authenticator app shows right now."""
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(code).zfill(device.digits)


# --- customers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Txn:
    reference: str
    merchant: str
    amount: str
    status: str = Transaction.Status.SUCCEEDED
    reason: str = Transaction.FailureReason.NONE
    kind: str = Transaction.Kind.PAYMENT
    card: str = ""  # last four digits of one of the wallet's cards
    minutes_ago: int = 60


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    language: str
    identities: tuple[tuple[str, str], ...]  # (kind, value); the first one creates the customer
    wallet_number: str
    national_id: str
    balance: str
    status: str = WalletAccount.Status.ACTIVE
    lock_reason: str = WalletAccount.LockReason.NONE
    failed_attempts: int = 0
    cards: tuple[tuple[str, str, str], ...] = ()  # (bank, kind, last4)
    transactions: tuple[Txn, ...] = ()
    notes: str = ""

    def identity(self, kind: str) -> str:
        return next(value for k, value in self.identities if k == kind)


FAILED = Transaction.Status.FAILED
Reason = Transaction.FailureReason
EMAIL, PHONE, WECHAT, WEIBO, WEB = (k.value for k in CustomerIdentity.Kind)

LI_WEI = DemoCustomer(
    name="李伟 Li Wei",
    language=Customer.Language.CHINESE,
    identities=(
        (EMAIL, "li.wei@example.com"),
        (PHONE, "+8613800138001"),
        (WECHAT, "oWx_demo_liwei_7Hq2"),
    ),
    wallet_number="MW8800000101",
    national_id="110105198803152139",
    balance="86.40",
    cards=(
        ("招商银行 China Merchants Bank", "debit", "3321"),
        ("中国银行 Bank of China", "credit", "8841"),
    ),
    transactions=(
        Txn("T-DEMO-0101", "美团外卖 Meituan", "128.00", FAILED, Reason.NETWORK, minutes_ago=130),
        Txn(
            "T-DEMO-0102",
            "美团外卖 Meituan",
            "128.00",
            FAILED,
            Reason.WRONG_PASSWORD,
            minutes_ago=120,
        ),
        Txn("T-DEMO-0103", "美团外卖 Meituan", "128.00", minutes_ago=95),
        Txn(
            "T-DEMO-0104",
            "招商银行 充值 Top-up",
            "500.00",
            kind="top_up",
            card="3321",
            minutes_ago=4320,
        ),
    ),
    notes="常用微信和邮件联系；偏好中文回复。",
)
WANG_FANG = DemoCustomer(
    name="王芳 Wang Fang",
    language=Customer.Language.CHINESE,
    identities=((WEIBO, "5938472016"), (PHONE, "+8613900139002")),
    wallet_number="MW8800000102",
    national_id="310104199208224527",
    balance="2310.00",
    status=WalletAccount.Status.LOCKED,
    lock_reason=WalletAccount.LockReason.WRONG_PASSWORD,
    failed_attempts=5,
    cards=(("中国工商银行 ICBC", "debit", "0456"),),
    transactions=(
        Txn("T-DEMO-0201", "京东 JD.com", "899.00", FAILED, Reason.WRONG_PASSWORD, minutes_ago=50),
        Txn("T-DEMO-0202", "滴滴出行 DiDi", "32.50", FAILED, Reason.ACCOUNT_LOCKED, minutes_ago=35),
    ),
)
CHEN_JING = DemoCustomer(
    name="陈静 Chen Jing",
    language=Customer.Language.CHINESE,
    identities=((EMAIL, "chen.jing@example.cn"), (PHONE, "+8613700137003")),
    wallet_number="MW8800000103",
    national_id="440306198506113081",
    balance="15800.00",
    status=WalletAccount.Status.FROZEN,
    lock_reason=WalletAccount.LockReason.RISK,
    cards=(("中国建设银行 CCB", "credit", "7720"),),
    transactions=(
        Txn(
            "T-DEMO-0301",
            "Overseas merchant (Tallinn, EE)",
            "6999.00",
            FAILED,
            Reason.RISK_BLOCKED,
            card="7720",
            minutes_ago=400,
        ),
        Txn(
            "T-DEMO-0302",
            "转账给 张** Transfer",
            "60000.00",
            FAILED,
            Reason.LIMIT_EXCEEDED,
            kind="transfer",
            minutes_ago=380,
        ),
    ),
)
EMILY_ZHANG = DemoCustomer(
    name="Emily Zhang",
    language=Customer.Language.ENGLISH,
    identities=((WEB, "web-demo-emily-3f9a"), (EMAIL, "emily.zhang@example.com")),
    wallet_number="MW8800000104",
    national_id="33010619950128674X",
    balance="12.30",
    cards=(("HSBC China", "debit", "1188"), ("交通银行 Bank of Communications", "credit", "5502")),
    transactions=(
        Txn(
            "T-DEMO-0401",
            "Starbucks 星巴克",
            "36.00",
            FAILED,
            Reason.INSUFFICIENT_BALANCE,
            minutes_ago=12,
        ),
        Txn(
            "T-DEMO-0402",
            "Top-up from credit card",
            "200.00",
            FAILED,
            Reason.CARD_DECLINED,
            kind="top_up",
            card="5502",
            minutes_ago=9,
        ),
    ),
)
ZHAO_LEI = DemoCustomer(
    name="赵磊 Zhao Lei",
    language=Customer.Language.CHINESE,
    identities=((WECHAT, "oWx_demo_zhaolei_K81p"), (PHONE, "+8615900159005")),
    wallet_number="MW8800000105",
    national_id="510107199009091254",
    balance="450.00",
    cards=(("中国农业银行 ABC", "debit", "9034"),),
    transactions=(
        Txn("T-DEMO-0501", "中国铁路 12306", "553.50", FAILED, Reason.OTHER, minutes_ago=1500),
        Txn("T-DEMO-0502", "中国铁路 12306", "553.50", minutes_ago=1480),
    ),
)
DAVID_LIU = DemoCustomer(
    name="David Liu 刘大卫",
    language=Customer.Language.ENGLISH,
    identities=((EMAIL, "david.liu@example.org"), (PHONE, "+8618600186006")),
    wallet_number="MW8800000106",
    national_id="320102198712033396",
    balance="1024.00",
    cards=(("招商银行 China Merchants Bank", "debit", "6610"),),
    transactions=(
        Txn("T-DEMO-0601", "Apple Store 三里屯", "799.00", card="6610", minutes_ago=2880),
    ),
)

DEMO_CUSTOMERS = (LI_WEI, WANG_FANG, CHEN_JING, EMILY_ZHANG, ZHAO_LEI, DAVID_LIU)


# --- conversations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """One ticket: the customer's messages, then what agents do on its first creation."""

    messages: tuple[Inbound, ...]
    replies: tuple[tuple[str, str], ...] = ()  # (username, body)
    notes: tuple[tuple[str, str], ...] = ()
    priority: int = Ticket.Priority.NORMAL
    related_transaction: str = ""
    final_status: str = ""
    call: dict = field(default_factory=dict)


SUPPORT = "support@mywallet.example"

CONVERSATIONS = (
    Conversation(
        messages=(
            Inbound(
                channel=Channel.EMAIL,
                sender_kind=EMAIL,
                sender=LI_WEI.identity(EMAIL),
                sender_name="李伟",
                subject="支付失败，请帮忙查看 / Payment failed",
                text=(
                    "您好，\n\n今天中午在美团外卖付款 128 元，连续失败两次，第一次提示"
                    "“网络异常”，第二次说支付密码错误，可我确定密码没记错。钱包号 MW8800000101。"
                    "\n\nHi, my Meituan payment failed twice today. Could you check?\n\n李伟"
                ),
                external_id="<demo-liwei-0001@mail.example.com>",
                category=Ticket.Category.TRANSACTION,
                queue="general",
                metadata={"to": [SUPPORT]},
            ),
            Inbound(
                channel=Channel.EMAIL,
                sender_kind=EMAIL,
                sender=LI_WEI.identity(EMAIL),
                sender_name="李伟",
                subject="Re: 支付失败，请帮忙查看 / Payment failed",
                text=(
                    "谢谢！切换到 4G 网络后重新输入密码，已经付款成功了。\n\nThanks, it works now."
                ),
                external_id="<demo-liwei-0002@mail.example.com>",
                thread_ids=("<demo-liwei-0001@mail.example.com>",),
                metadata={"to": [SUPPORT]},
            ),
        ),
        replies=(
            (
                "agent",
                "李先生您好，\n\n我们查看了您的交易记录：第一笔（T-DEMO-0101）因网络超时失败，"
                "第二笔（T-DEMO-0102）是支付密码输入有误。钱包没有被锁定，余额也足够。"
                "建议您切换到稳定的网络（Wi-Fi 或 4G）后重新下单并仔细输入支付密码；如仍失败，"
                "可尝试清除 App 缓存或重新安装。\n\n"
                "Your first payment timed out on the network and the second had a mistyped "
                "payment password; please retry on a stable connection.\n\nMY钱包客服 小雨",
            ),
        ),
        notes=(
            (
                "agent",
                "已核对 T-DEMO-0101（network）和 T-DEMO-0102（wrong_password），账户状态正常。",
            ),
        ),
        related_transaction="T-DEMO-0101",
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.PHONE,
                sender_kind=PHONE,
                sender=LI_WEI.identity(PHONE),
                sender_name="李伟",
                subject="热线来电：外卖付款提示密码错误",
                text=(
                    "来电摘要：客户询问同一笔外卖付款为何先提示网络异常、后提示密码错误，"
                    "担心账户被盗。已告知两次失败原因，账户未锁定，建议开启大额支付二次验证。"
                ),
                external_id="demo-call-0001",
                continue_open=True,
                category=Ticket.Category.TRANSACTION,
                queue="hotline",
            ),
        ),
        notes=(("agent", "来电 6 分钟，客户情绪平稳。已通过注册手机号和最近交易核实身份。"),),
        related_transaction="T-DEMO-0102",
        final_status=Ticket.Status.SOLVED,
        call={
            "external_id": "demo-call-0001",
            "caller_number": LI_WEI.identity(PHONE),
            "minutes_ago": 110,
            "duration": timedelta(minutes=6, seconds=12),
            "recording_ref": "recordings/demo/demo-call-0001.wav",
        },
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.WECHAT,
                sender_kind=WECHAT,
                sender=LI_WEI.identity(WECHAT),
                sender_name="李伟",
                text="你好，我想绑定一张新的信用卡，应该怎么操作？",
                external_id="demo-wx-msg-1000001",
                continue_open=True,
                category=Ticket.Category.ACCOUNT,
                queue="general",
            ),
        ),
        replies=(
            (
                "agent",
                "您好！请在 MY钱包 App 中进入「我的 → 银行卡 → 添加银行卡」，输入卡号和"
                "预留手机号，收到短信验证码后即可完成绑定。信用卡需要本人名下且已激活。",
            ),
        ),
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.WEIBO,
                sender_kind=WEIBO,
                sender=WANG_FANG.identity(WEIBO),
                sender_name="芳芳爱旅行",
                text="@MY钱包客服 我的账户被锁了，打车都付不了款，怎么办？急！",
                external_id="demo-weibo-4951000000000001",
                continue_open=True,
                category=Ticket.Category.SECURITY,
                queue="security",
            ),
        ),
        replies=(
            (
                "agent",
                "王女士您好，您的账户因支付密码连续输错 5 次被临时锁定。请先在 App 中点击"
                "「忘记支付密码」，通过注册手机号收到验证码后重设密码，账户会自动解锁。"
                "如无法收到验证码，请私信我们，客服核实身份后为您人工解锁。",
            ),
        ),
        notes=(
            ("agent", "锁定原因 wrong_password，失败 5 次。如客户无法自助重置，转主管人工解锁。"),
        ),
        priority=Ticket.Priority.HIGH,
        related_transaction="T-DEMO-0202",
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.EMAIL,
                sender_kind=EMAIL,
                sender=CHEN_JING.identity(EMAIL),
                sender_name="陈静",
                subject="我的账户为什么被冻结了？Why is my account frozen?",
                text=(
                    "你好，我今天收到短信说我的钱包账户因“异常行为”被冻结。我昨晚并没有在国外消费，"
                    "也没有转账六万元，是不是被盗了？请尽快处理。\n\n陈静"
                ),
                external_id="<demo-chenjing-0001@mail.example.cn>",
                category=Ticket.Category.SECURITY,
                queue="security",
                metadata={"to": [SUPPORT]},
            ),
        ),
        notes=(
            (
                "supervisor",
                "风控命中：境外大额消费 T-DEMO-0301 与超限转账 T-DEMO-0302。需回电注册手机号"
                "核实身份并确认是否本人操作后再决定解冻。",
            ),
        ),
        priority=Ticket.Priority.URGENT,
        related_transaction="T-DEMO-0301",
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.CHAT,
                sender_kind=WEB,
                sender=EMILY_ZHANG.identity(WEB),
                sender_name="Emily Zhang",
                text=(
                    "Hi, my payment at Starbucks just failed, and topping up from my credit "
                    "card was declined too. What's going on?"
                ),
                external_id="demo-chat-emily-0001",
                continue_open=True,
                category=Ticket.Category.TRANSACTION,
                queue="general",
                language="en",
            ),
            Inbound(
                channel=Channel.CHAT,
                sender_kind=WEB,
                sender=EMILY_ZHANG.identity(WEB),
                sender_name="Emily Zhang",
                text="I'm standing at the counter right now 😅",
                external_id="demo-chat-emily-0002",
                continue_open=True,
                language="en",
            ),
        ),
        replies=(
            (
                "agent",
                "Hi Emily, the coffee payment failed because your balance was CNY 12.30, less "
                "than the CNY 36.00 due. The top-up was declined by your credit card's bank, not "
                "by us: please top up from your HSBC debit card, or call the bank about the card.",
            ),
        ),
        related_transaction="T-DEMO-0401",
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.WECHAT,
                sender_kind=WECHAT,
                sender=ZHAO_LEI.identity(WECHAT),
                sender_name="赵磊",
                text=(
                    "建议：希望在 12306 购票时能支持分期付款。另外昨天买票第一次支付失败，"
                    "只提示“系统繁忙”，看不出原因，希望错误提示能更清楚一些。"
                ),
                external_id="demo-wx-msg-2000001",
                continue_open=True,
                category=Ticket.Category.FEEDBACK,
                queue="feedback",
            ),
        ),
        replies=(
            (
                "agent",
                "感谢您的建议！分期付款和更清楚的失败提示我们都已记录并反馈给产品团队。"
                "昨天失败的那笔（T-DEMO-0501）已核实未扣款，第二次支付已成功。",
            ),
        ),
        related_transaction="T-DEMO-0501",
        final_status=Ticket.Status.SOLVED,
    ),
    Conversation(
        messages=(
            Inbound(
                channel=Channel.EMAIL,
                sender_kind=EMAIL,
                sender=DAVID_LIU.identity(EMAIL),
                sender_name="David Liu",
                subject="Change my registered phone number / 更换绑定手机号",
                text=(
                    "Hello, I have a new phone number and lost the old SIM card, so I cannot "
                    "receive the verification code to change it in the app. Can you help?\n\n"
                    "您好，我换了新手机号，旧号码已停用，无法收到验证码。\n\nDavid Liu"
                ),
                external_id="<demo-davidliu-0001@mail.example.org>",
                category=Ticket.Category.ACCOUNT,
                queue="general",
                language="en",
                metadata={"to": [SUPPORT]},
            ),
        ),
    ),
)


# --- building -------------------------------------------------------------------------------


@dataclass
class SeedResult:
    staff: list[tuple[DemoStaff, str, list[str]]] = field(
        default_factory=list
    )  # current code, backup codes
    created: Counter = field(default_factory=Counter)


@transaction.atomic
def seed(*, reset_passwords: bool = False) -> SeedResult:
    """Create whatever demo data is missing; with ``reset_passwords``, restore the demo
    passwords, authenticator keys and backup codes of the demo staff too."""
    result = SeedResult()
    for slug, name in QUEUES:
        _queue, created = Queue.objects.get_or_create(slug=slug, defaults={"name": name})
        result.created["queues"] += created
    users = {}
    for spec in DEMO_STAFF:
        users[spec.username] = _staff(spec, reset=reset_passwords, result=result)
    seed_service_levels(users=users, created=result.created)
    for spec in DEMO_CUSTOMERS:
        _customer(spec, acting_user=users["supervisor"], result=result)
    for conversation in CONVERSATIONS:
        _conversation(conversation, users=users, result=result)
    seed_knowledge(result.created)
    result.created["tickets"] += seed_history(agent=users["agent"])
    seed_service_history(agent=users["agent"], result=result)
    return result


def _staff(spec: DemoStaff, *, reset: bool, result: SeedResult):
    user, created = get_user_model().objects.get_or_create(
        username=spec.username,
        defaults={
            "is_staff": True,
            "is_superuser": spec.superuser,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{spec.username}@mywallet.example",
        },
    )
    result.created["staff"] += created
    if created or reset:
        user.set_password(spec.password)
        user.save()
    if spec.group:
        user.groups.add(Group.objects.get(name=spec.group))
    for slug in spec.queues:
        Queue.objects.get(slug=slug).agents.add(user)

    device, created = TOTPDevice.objects.get_or_create(
        user=user, name=TOTP_DEVICE_NAME, defaults={"key": spec.hex_key, "confirmed": True}
    )
    if reset and (device.key != spec.hex_key or not device.confirmed):
        device.key, device.confirmed = spec.hex_key, True
        device.save()
    backup, created = StaticDevice.objects.get_or_create(
        user=user, name=BACKUP_DEVICE_NAME, defaults={"confirmed": True}
    )
    if created or reset:
        backup.token_set.all().delete()
        StaticToken.objects.bulk_create(
            StaticToken(device=backup, token=code) for code in spec.backup_codes
        )
    unused = sorted(backup.token_set.values_list("token", flat=True))
    result.staff.append((spec, current_code(device), unused))
    return user


def _customer(spec: DemoCustomer, *, acting_user, result: SeedResult) -> Customer:
    first_kind, first_value = spec.identities[0]
    new = not CustomerIdentity.objects.filter(kind=first_kind, value=first_value).exists()
    customer = resolve_identity(kind=first_kind, value=first_value, display_name=spec.name).customer
    if new:
        customer.language, customer.notes = spec.language, spec.notes
        customer.save(update_fields=["language", "notes", "updated_at"])
        result.created["customers"] += 1
    for kind, value in spec.identities[1:]:
        add_identity(customer, kind=kind, value=value, acting_user=acting_user)

    wallet = WalletAccount.objects.filter(number=spec.wallet_number).first()
    if wallet is None:
        wallet = WalletAccount(
            customer=customer,
            number=spec.wallet_number,
            status=spec.status,
            lock_reason=spec.lock_reason,
            failed_password_attempts=spec.failed_attempts,
            registered_phone=next((v for k, v in spec.identities if k == PHONE), ""),
            registered_email=next((v for k, v in spec.identities if k == EMAIL), ""),
            national_id=spec.national_id,
            balance=Decimal(spec.balance),
        )
        wallet.set_payment_password("135790")
        wallet.save()
        result.created["wallets"] += 1

    cards = {}
    for bank, kind, last4 in spec.cards:
        cards[last4], created = BankCard.objects.get_or_create(
            account=wallet, last4=last4, defaults={"bank": bank, "kind": kind}
        )
        result.created["cards"] += created
    now = timezone.now()
    for txn in spec.transactions:
        _obj, created = Transaction.objects.get_or_create(
            reference=txn.reference,
            defaults={
                "account": wallet,
                "kind": txn.kind,
                "amount": Decimal(txn.amount),
                "merchant": txn.merchant,
                "status": txn.status,
                "failure_reason": txn.reason,
                "card": cards.get(txn.card),
                "occurred_at": now - timedelta(minutes=txn.minutes_ago),
            },
        )
        result.created["transactions"] += created
    return customer


def _conversation(conversation: Conversation, *, users: dict, result: SeedResult) -> None:
    ticket, opened = None, False
    for inbound in conversation.messages:
        received = receive(inbound)
        ticket = received.ticket
        opened = opened or received.opened
        result.created["messages"] += not received.duplicate
    if not opened:
        return  # answered on the first run; a second run leaves the ticket as it is
    result.created["tickets"] += 1
    updates = {"priority": conversation.priority}
    if conversation.related_transaction:
        updates["related_transaction"] = Transaction.objects.get(
            reference=conversation.related_transaction
        )
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    if conversation.call:
        call = dict(conversation.call)
        started = timezone.now() - timedelta(minutes=call.pop("minutes_ago"))
        _call, created = CallLog.objects.get_or_create(
            external_id=call.pop("external_id"),
            defaults={
                **call,
                "started_at": started,
                "agent": users["agent"],
                "customer": ticket.customer,
                "ticket": ticket,
            },
        )
        result.created["calls"] += created
    for username, body in conversation.replies:
        reply(ticket, acting_user=users[username], body=body)
    for username, body in conversation.notes:
        add_note(ticket, acting_user=users[username], body=body)
    if conversation.final_status:
        change_status(ticket, acting_user=users["agent"], status=conversation.final_status)


def summary() -> dict[str, int | dict]:
    """What the database holds now (demo data and anything else), for the closing report."""
    tickets_by_channel = Counter(Ticket.objects.values_list("channel", flat=True))
    return {
        "queues": Queue.objects.count(),
        "customers": Customer.objects.count(),
        "identities": CustomerIdentity.objects.count(),
        "wallets": WalletAccount.objects.count(),
        "bank cards": BankCard.objects.count(),
        "transactions": Transaction.objects.count(),
        "failed transactions": Transaction.objects.filter(status=FAILED).count(),
        "tickets": Ticket.objects.count(),
        "tickets by channel": dict(sorted(tickets_by_channel.items())),
        "messages": Message.objects.count(),
        "calls": CallLog.objects.count(),
    }
