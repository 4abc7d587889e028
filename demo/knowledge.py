# ruff: noqa: E501 (article bodies are prose: one paragraph or list item a line)
"""The demo's knowledge base and macros: the five questions customers ask most, answered in
English and Chinese at /help/ (and suggested in the chat by their keywords), and the macros
agents insert in the ticket page and the chat console, with placeholders.

Idempotent: an article is found by its slug and a macro by its title, and neither is
changed once it exists (a supervisor may have edited it since).
"""

from tickets.models import Article, Macro, Queue

PAYMENTS = Article.Category.PAYMENTS
ACCOUNT = Article.Category.ACCOUNT
SECURITY = Article.Category.SECURITY

ARTICLES = [
    {
        "slug": "why-did-my-payment-fail",
        "category": PAYMENTS,
        "position": 1,
        "title_en": "Why did my payment fail?",
        "title_zh": "为什么我的付款失败了？",
        "keywords_en": "payment failed, payment fail, failed payment, declined, payment error, "
        "not enough balance, insufficient balance, transfer failed",
        "keywords_zh": "支付失败,付款失败,付不了,付款不成功,扣款失败,余额不足,转账失败,交易失败",
        "body_en": """A failed payment takes no money from your wallet. The app shows the reason under the payment in your transaction list; here is what each one means and what to do.

- Network problem: the app could not reach MY Wallet in time. Check your mobile data or Wi-Fi, then try again. If the money seems to have left your wallet, wait a few minutes: a payment that did not complete is returned automatically.
- Insufficient balance: your wallet held less than the amount. Top up from a linked bank card, or pay with a card instead of the balance.
- Wrong payment password: the password you typed did not match. After several wrong tries payments are paused for a while to protect you. If you have forgotten it, [reset your payment password](/account/reset-payment-password/).
- Blocked by risk control: our safety checks stopped a payment that looked unusual (a new device, an unusual amount or place). Your money is safe. Try again later, or chat with us: an agent can check the payment with you after verifying that it is you.

If none of these fits, chat with us and tell us roughly when, how much and to whom you paid.""",
        "body_zh": """付款失败不会从您的钱包扣款。交易记录中该笔付款下方会显示失败原因；以下是各原因的含义及处理方法。

- 网络问题：应用未能及时连接 MY Wallet。请检查移动数据或 Wi-Fi 后重试。如果钱似乎已被扣除，请稍等几分钟：未完成的付款会自动退回。
- 余额不足：钱包余额少于付款金额。请从已绑定的银行卡充值，或改用银行卡付款。
- 支付密码错误：输入的密码不正确。多次输错后，为保护您的资金，付款会暂停一段时间。如果忘记密码，请[重置支付密码](/account/reset-payment-password/)。
- 风控拦截：我们的安全检查拦截了一笔看起来异常的付款（新设备、异常金额或地点）。您的资金是安全的。请稍后再试，或与我们在线交谈：客服核实您的身份后会与您一起查看这笔付款。

如果以上都不符合，请与我们在线交谈，并告诉我们付款的大致时间、金额和收款方。""",
    },
    {
        "slug": "reset-payment-password",
        "category": SECURITY,
        "position": 1,
        "title_en": "How do I reset my payment password?",
        "title_zh": "如何重置支付密码？",
        "keywords_en": "reset password, forgot password, forgotten password, payment password, "
        "change password, new password",
        "keywords_zh": "重置密码,忘记密码,支付密码,修改密码,找回密码,密码错误",
        "body_en": """You can reset your payment password yourself, at any time:

- Open [Reset payment password](/account/reset-payment-password/) from the MY Wallet app (Me, then Security), which signs you in.
- We send a one-time code to your registered phone or email. Type it on the page.
- Answer the second check the page asks for (for example, confirming on your registered device).
- Choose a new payment password of 6 digits that is not your birthday or an easy sequence.

The code is only for you to type on that page. MY Wallet staff will never ask you for it. If you no longer have your registered phone or email, chat with us: an agent will verify your identity another way.""",
        "body_zh": """您可以随时自助重置支付密码：

- 在 MY Wallet 应用中打开[重置支付密码](/account/reset-payment-password/)（我的 - 安全），应用会自动为您登录。
- 我们会向您的注册手机或邮箱发送一次性验证码，请在页面上输入。
- 按页面提示完成第二重验证（例如在您的注册设备上确认）。
- 设置新的 6 位支付密码，不要使用生日或简单的连续数字。

验证码只需您自己在该页面输入。MY Wallet 工作人员绝不会向您索要验证码。如果您已无法使用注册手机或邮箱，请与我们在线交谈：客服会通过其他方式核实您的身份。""",
    },
    {
        "slug": "account-locked",
        "category": ACCOUNT,
        "position": 1,
        "title_en": "My account is locked",
        "title_zh": "我的账户被锁定了",
        "keywords_en": "locked, account locked, wallet locked, frozen, account frozen, "
        "cannot log in, can't log in, unlock",
        "keywords_zh": "锁定,账户锁定,账号锁定,被锁,冻结,账户冻结,解锁,登录不了,无法登录",
        "body_en": """Your wallet locks after too many wrong payment passwords, or when our safety checks see something unusual. This protects your money; nothing in it is lost.

- Locked after wrong passwords: [reset your payment password](/account/reset-payment-password/). A successful reset unlocks payments.
- Still locked, or locked for another reason: chat with us or call the hotline. An agent verifies that it is you, through a confirmation link sent to your registered phone or email, and then unlocks the wallet or tells you what else is needed.

Nobody from MY Wallet will ask you for a code or your password to unlock your account.""",
        "body_zh": """支付密码输错次数过多，或我们的安全检查发现异常时，钱包会被锁定。这是为了保护您的资金，钱包里的钱不会丢失。

- 因密码输错被锁：请[重置支付密码](/account/reset-payment-password/)。重置成功后即可恢复付款。
- 仍被锁定，或因其他原因被锁：请与我们在线交谈或拨打客服热线。客服会通过发送到您注册手机或邮箱的确认链接核实您的身份，然后为您解锁，或告诉您还需要做什么。

MY Wallet 的任何人都不会为了解锁而向您索要验证码或密码。""",
    },
    {
        "slug": "update-my-details",
        "category": ACCOUNT,
        "position": 2,
        "title_en": "How do I update my details?",
        "title_zh": "如何更新我的个人信息？",
        "keywords_en": "update details, change phone, change email, new phone, new email, "
        "phone number, email address, national id, id card, change name",
        "keywords_zh": "更新信息,修改信息,更换手机,换手机号,修改手机号,修改邮箱,更换邮箱,身份证,证件",
        "body_en": """You can change your phone number or email yourself:

- Open [Change phone or email](/account/change-contact/) from the MY Wallet app.
- Confirm the change with a code sent to your current contact, then confirm the new phone or email with the code sent to it.

If you have lost your old phone or email, chat with us: an agent verifies your identity another way before changing it.

Your national ID number can only be changed by an agent, after verifying that it is you; a supervisor approves the change. Chat with us and have your new ID card at hand. Never send a photo of your ID card to anyone who contacts you first.""",
        "body_zh": """您可以自助更换手机号或邮箱：

- 在 MY Wallet 应用中打开[更换手机或邮箱](/account/change-contact/)。
- 用发送到当前联系方式的验证码确认修改，再用发送到新手机或新邮箱的验证码确认新的联系方式。

如果您已无法使用原手机或邮箱，请与我们在线交谈：客服会通过其他方式核实您的身份后再为您修改。

身份证号码只能由客服在核实您的身份后修改，并需主管审批。请与我们在线交谈，并准备好您的新身份证。切勿把身份证照片发给任何主动联系您的人。""",
    },
    {
        "slug": "how-we-keep-payments-safe",
        "category": SECURITY,
        "position": 2,
        "title_en": "How MY Wallet keeps your payments safe",
        "title_zh": "MY Wallet 如何保障您的支付安全",
        "keywords_en": "safe, safety, security, secure, fraud, scam, encryption, stolen, hacked",
        "keywords_zh": "安全,支付安全,诈骗,骗子,被盗,盗刷,加密,账户安全",
        "body_en": """Every payment you make is protected in several ways:

- Encryption: everything between the app and MY Wallet travels encrypted.
- Payment password: every payment needs your payment password, which only you know.
- Second verification for large payments: a payment above your limit asks for a second check on your registered device.
- Freezing on anomalies: if we see something unusual (a new device, an unusual place or amount), we stop the payment or freeze the wallet and tell you by SMS and email.

What you can do: never tell anyone a code or your payment password, not even someone who says they are from MY Wallet. We never ask for them. If you think someone knows your password, [reset it now](/account/reset-payment-password/) and chat with us.""",
        "body_zh": """您的每一笔付款都受到多重保护：

- 加密传输：应用与 MY Wallet 之间的所有数据均加密传输。
- 支付密码：每笔付款都需要只有您知道的支付密码。
- 大额付款二次验证：超过限额的付款需要在您的注册设备上再次确认。
- 异常冻结：如果发现异常（新设备、异常地点或金额），我们会拦截付款或冻结钱包，并通过短信和邮件通知您。

您可以做的：绝不要把验证码或支付密码告诉任何人，即使对方自称是 MY Wallet 的工作人员。我们绝不会索要这些信息。如果您怀疑密码已泄露，请立即[重置密码](/account/reset-payment-password/)并与我们在线交谈。""",
    },
]

# (title, English, Chinese, queue slug or None for every queue, status to set or "").
MACROS = [
    (
        "问候 / Greeting",
        "Hello {customer_name}, this is {agent_name} from MY Wallet Support. "
        "How can I help you today?",
        "{customer_name}您好，我是 MY Wallet 客服 {agent_name}，很高兴为您服务。请问有什么可以帮您？",
        None,
        "",
    ),
    (
        "核实身份 / Verify identity",
        "To protect your account I need to verify your identity first: I will send a "
        'confirmation link to your registered phone; open it and tap "Yes, this is me". '
        "You never need to tell anyone a code, including me.",
        "为了保护您的账户安全，我需要先核实您的身份：稍后会向您的注册手机发送一个确认链接，"
        "请打开后点击“是我本人”。您无需把任何验证码告诉任何人，包括我。",
        "security",
        "",
    ),
    (
        "支付失败排查 / Failed payment",
        "Please tell me roughly when, how much and where you paid, and I will look up why "
        "it failed (ticket {ticket_reference}).",
        "请告诉我付款的大致时间、金额和商户，我帮您查一下失败原因（工单 {ticket_reference}）。",
        None,
        "pending",
    ),
    (
        "自助重置支付密码 / Reset payment password",
        "You can reset your payment password yourself at /account/reset-payment-password/; "
        "a code goes to your registered phone or email. Steps: /help/reset-payment-password/",
        "您可以在 /account/reset-payment-password/ 自助重置支付密码，"
        "验证码会发送到您的注册手机或邮箱。步骤见 /help/reset-payment-password/",
        "security",
        "solved",
    ),
    (
        "已解决 / Solved",
        "I'm glad we could sort this out, {customer_name}. If anything else comes up, just "
        "reply and quote {ticket_reference}.",
        "很高兴帮您解决了问题。如有其他疑问，请直接回复并注明工单号 {ticket_reference}。",
        None,
        "solved",
    ),
]


def seed_knowledge(created) -> None:
    """The articles (published) and the macros; ``created`` counts what was new."""
    for spec in ARTICLES:
        _article, new = Article.objects.get_or_create(
            slug=spec["slug"], defaults={**spec, "published": True}
        )
        created["help articles"] += new
    queues = {queue.slug: queue for queue in Queue.objects.all()}
    for title, english, chinese, queue_slug, status in MACROS:
        _macro, new = Macro.objects.get_or_create(
            title=title,
            defaults={
                "body_en": english,
                "body_zh": chinese,
                "queue": queues.get(queue_slug),
                "status": status,
            },
        )
        created["macros"] += new
