"""The live chat in a real browser: headless Debian chromium (Playwright) against real daphne.

A customer opens /chat/ on a phone-sized screen and writes; an agent signs in to the
two-factor admin, opens the console, goes online, accepts and answers; the customer sees the
answer. A message carrying HTML and script shows as text on both sides. Screenshots of each
side go to test-output/chat-browser/ (not committed).

Playwright's own browser downloads are never used: the test drives /usr/bin/chromium. Without
it (or without the playwright package) the test is skipped locally and fails under CI=true.
"""

import base64
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp

from tests.conftest import need_server
from tests.e2e.servers import ROOT, manage, migrated_database, running_daphne

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

OUTPUT = ROOT / "test-output" / "chat-browser"
# Staff seed_demo creates (README: fixed, public demo values). Each test signs in a
# different one: a TOTP code is good once, and two sign-ins may fall in one 30 s step.
AGENT = ("agent", "agent-demo-2026", "MYWALLETDEMOAGENTTOTPKEYSECRETAA")
SUPERVISOR = ("supervisor", "supervisor-demo-2026", "MYWALLETDEMOSUPERVISORTOTPKEYAAA")
ADMIN = ("admin", "admin-demo-2026", "MYWALLETDEMOADMINTOTPKEYSECRETAA")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 900}
TIMEOUT_MS = 10_000
XSS = '<script>window.__xss = 1</script><img src="x" onerror="window.__xss = 2">'


# Macros for every queue, for "general" and for "security"; the admin answers
# "general" chats too.
CANNED_SETUP = """
from django.contrib.auth import get_user_model
from tickets.models import Macro, Queue
general, security = Queue.objects.get(slug="general"), Queue.objects.get(slug="security")
general.agents.add(get_user_model().objects.get(username="admin"))
Macro.objects.create(title="问候", body_en="Hello!", body_zh="您好，请问有什么可以帮您？")
Macro.objects.create(
    title="查询中", body_en="One moment.", body_zh="我正在为您查询，请稍候。", queue=general
)
Macro.objects.create(
    title="冻结说明", body_en="Frozen.", body_zh="为保护资金安全，账户已冻结。", queue=security
)
"""


# The admin's strong verification of the claimed customer's wallet on the chat's ticket,
# which links the ticket to them (as the ticket page's security panel does).
LINK_CLAIM = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from accounts.models import Verification
from tickets import actions
from tickets.models import Ticket
ticket = Ticket.objects.get(reference={reference!r})
admin = get_user_model().objects.get(username="admin")
verification = Verification.objects.create(ticket=ticket, agent=admin, strength="strong",
    account=ticket.claimed_identity.customer.wallets.order_by("pk").first(),
    checks_passed=["phone", "code_phone"], expires_at=timezone.now() + timedelta(minutes=30))
actions.link_claimed_customer(ticket, acting_user=admin, verification=verification)
"""

# A token the MY Wallet app would open the chat with, for the demo's first wallet.
APP_TOKEN = """
from accounts.app_identity import AUDIENCE_CHAT, sign
from accounts.models import WalletAccount
print(sign(WalletAccount.objects.order_by("pk").first(), audience=AUDIENCE_CHAT))
"""


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        need_server("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    return path


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need_server("the playwright package is not installed (requirements-dev.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, timeout=TIMEOUT_MS * 3)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Auto-assign off: the agent accepts the chat from the waiting list, as the test means to.
    with migrated_database(
        tmp_path_factory.mktemp("chat-browser"), CHAT_AUTO_ASSIGN="false"
    ) as env:
        manage("seed_demo", env={**env, "DJANGO_DEBUG": "true"})
        manage("shell", "-c", CANNED_SETUP, env=env)
        with running_daphne(env=env) as server:
            yield server


@pytest.fixture(scope="module")
def output():
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


def new_page(browser, *, viewport: dict, locale: str, mobile: bool = False):
    context = browser.new_context(
        viewport=viewport,
        locale=locale,
        is_mobile=mobile,
        has_touch=mobile,
        extra_http_headers={"Accept-Language": locale},
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    return page, errors


def totp_code(key: str) -> str:
    return f"{totp(base64.b32decode(key)):06d}"


def sign_in(page, server, staff: tuple[str, str, str]):
    username, password, key = staff
    page.goto(server.url("/admin/login/?next=/admin/chat/console/"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.fill("#id_otp_token", totp_code(key))
    page.click("#login-form [type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == "/admin/chat/console/")


def start_chat(page, server, *, name: str, contact: str):
    page.goto(server.url("/chat/"))
    page.fill("#start-name", name)
    page.fill("#start-contact", contact)
    page.click("#start-button")
    page.locator("#conversation-view").wait_for(state="visible")


def test_with_no_agent_online_the_customer_can_leave_a_message(browser, server, output):
    page, errors = new_page(browser, viewport=PHONE, locale="en-US", mobile=True)
    start_chat(page, server, name="Zhou Min", contact="")

    page.locator("#offline-view").wait_for(state="visible")
    assert "No agent is online" in page.inner_text("#offline-view")
    page.fill("#leave-text", "Please call me about my locked wallet.")
    page.click("#leave-form [type=submit]")
    assert "phone number or email" in page.inner_text("#leave-error")  # contact required

    page.fill("#leave-contact", "zhou.min@example.com")
    page.click("#leave-form [type=submit]")
    page.locator("#leave-thanks").wait_for(state="visible")
    page.screenshot(path=str(output / "customer-offline-en.png"))
    assert errors == []
    page.context.close()


def test_in_chinese_a_message_left_offline_goes_on_the_chats_own_ticket(browser, server, output):
    page, errors = new_page(browser, viewport=PHONE, locale="zh-CN", mobile=True)
    start_chat(page, server, name="周敏", contact="")
    page.locator("#offline-view").wait_for(state="visible")
    assert "当前暂无客服在线" in page.inner_text("#offline-view")
    page.screenshot(path=str(output / "customer-offline-form-zh.png"))
    page.fill("#leave-text", "我的钱包被锁了，请联系我。")
    page.click("#leave-form [type=submit]")
    assert "请输入您的手机号码或邮箱" in page.inner_text("#leave-error")
    page.fill("#leave-contact", "zhou.min@example.cn")
    page.click("#leave-form [type=submit]")
    thanks = page.locator("#leave-thanks")
    thanks.wait_for(state="visible")
    reference = page.evaluate(
        "document.querySelector('#messages').getAttribute('aria-description')"
    )
    assert reference and reference.split()[-1] in thanks.inner_text()
    page.screenshot(path=str(output / "customer-offline-zh.png"))
    assert errors == []
    page.context.close()


def test_a_customer_and_an_agent_hold_a_conversation(browser, server, output):
    agent, agent_errors = new_page(browser, viewport=DESKTOP, locale="en-US")
    sign_in(agent, server, AGENT)
    agent.locator("#presence").wait_for()
    agent.check("#presence input[value=online]")
    agent.wait_for_function("() => document.querySelector('#presence').dataset.status === 'online'")

    customer, customer_errors = new_page(browser, viewport=PHONE, locale="zh-CN", mobile=True)
    start_chat(customer, server, name="Li Wei", contact="li.wei@example.com")
    customer.locator("#chat-notice").wait_for(state="visible")
    customer.fill("#composer-text", "My payment failed. " + XSS)
    customer.press("#composer-text", "Enter")
    sent = customer.locator(".msg-customer").last
    sent.locator(".msg-state").wait_for()
    # The line the customer sent, not the thread's last child: the payment explanation
    # can land after it before this check runs.
    customer.wait_for_function(
        "line => !line.classList.contains('msg-pending')", arg=sent.element_handle()
    )
    assert XSS in sent.locator(".msg-text").inner_text()

    waiting = agent.locator(".cc-waiting-item", has_text="Li Wei").first
    waiting.wait_for()
    waiting.locator(".cc-accept").click()
    panel = agent.locator(".cc-panel:not([hidden])")
    panel.wait_for()
    customer_line = panel.locator(".cc-msg-customer .cc-msg-text", has_text="My payment failed")
    customer_line.wait_for()
    assert XSS in customer_line.inner_text()
    panel.locator(".cc-text").fill("Your balance was too low. Top up and try again, please.")
    panel.locator(".cc-text").press("Enter")

    answer = customer.locator(".msg-agent .msg-text", has_text="Top up and try again")
    answer.wait_for()
    assert customer.locator("#messages img[src='x'], #messages script").count() == 0
    assert agent.locator(".cc-thread img[src='x'], .cc-thread script").count() == 0
    assert customer.evaluate("window.__xss") is None
    assert agent.evaluate("window.__xss") is None

    customer.screenshot(path=str(output / "customer-zh.png"))
    agent.screenshot(path=str(output / "agent-console.png"))
    assert customer_errors == []
    assert agent_errors == []
    customer.context.close()
    agent.context.close()


# Lets a test cut the page's websocket and keep it from reconnecting until it says so.
SOCKET_SWITCH = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.__blockSockets = false;
  window.WebSocket = function (url, protocols) {
    const target = window.__blockSockets ? url.replace("/ws/", "/ws-blocked/") : url;
    const socket = new Native(target, protocols);
    window.__sockets.push(socket);
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
})();
"""


def test_after_a_lost_connection_the_customer_sees_every_message_once(browser, server, output):
    agent, agent_errors = new_page(browser, viewport=DESKTOP, locale="en-US")
    sign_in(agent, server, SUPERVISOR)
    agent.check("#presence input[value=online]")
    agent.wait_for_function("() => document.querySelector('#presence').dataset.status === 'online'")

    customer, customer_errors = new_page(browser, viewport=PHONE, locale="en-US", mobile=True)
    customer.add_init_script(SOCKET_SWITCH)
    start_chat(customer, server, name="Wang Fang", contact="")
    customer.fill("#composer-text", "Hello, is anyone there?")
    customer.press("#composer-text", "Enter")
    agent.locator(".cc-waiting-item", has_text="Wang Fang").first.locator(".cc-accept").click()
    panel = agent.locator(".cc-panel:not([hidden])")
    panel.locator(".cc-msg-customer", has_text="is anyone there").wait_for()
    customer.locator(".msg-agent, .msg-system", has_text="joined").first.wait_for()

    # The customer's connection drops and stays down while both sides keep writing.
    customer.evaluate("window.__blockSockets = true; window.__sockets.forEach((s) => s.close())")
    customer.locator("#connection").wait_for(state="visible")
    for text in ("First answer while you were away.", "Second answer while you were away."):
        panel.locator(".cc-text").fill(text)
        panel.locator(".cc-text").press("Enter")
    panel.locator(".cc-msg-agent:not(.cc-pending)", has_text="Second answer").wait_for()
    customer.fill("#composer-text", "Written while offline.")
    customer.press("#composer-text", "Enter")
    assert customer.locator(".msg-pending", has_text="Written while offline").count() == 1

    customer.evaluate("window.__blockSockets = false")
    customer.locator(".msg-agent", has_text="Second answer").wait_for(timeout=TIMEOUT_MS * 2)
    customer.locator(".msg-customer:not(.msg-pending)", has_text="Written while offline").wait_for()
    panel.locator(".cc-msg-customer", has_text="Written while offline").wait_for()
    customer.wait_for_timeout(500)  # anything doubled would have arrived by now

    for text in ("First answer", "Second answer"):
        assert customer.locator(".msg-agent", has_text=text).count() == 1
    assert customer.locator(".msg-customer", has_text="Written while offline").count() == 1
    assert customer.locator(".msg-customer", has_text="is anyone there").count() == 1
    assert panel.locator(".cc-msg-customer", has_text="Written while offline").count() == 1
    # Shown in the order stored: the answers came before the message written offline.
    texts = customer.locator("#messages .msg-text").all_inner_texts()
    assert texts.index("Second answer while you were away.") < texts.index("Written while offline.")
    assert customer.locator("#connection").is_hidden()
    customer.screenshot(path=str(output / "customer-after-reconnect-en.png"))
    assert customer_errors == []
    assert agent_errors == []
    customer.context.close()
    agent.context.close()


def test_the_console_in_chinese_shows_the_customer_panel(browser, server, output):
    agent, agent_errors = new_page(browser, viewport=DESKTOP, locale="zh-CN")
    sign_in(agent, server, ADMIN)
    agent.wait_for_function(
        "() => document.querySelector('#chat-limit').textContent !== ''"
    )  # hello
    agent.check("#presence input[value=online]")
    agent.wait_for_function("() => document.querySelector('#presence').dataset.status === 'online'")
    assert "我的状态" in agent.inner_text("#presence")

    customer, customer_errors = new_page(browser, viewport=PHONE, locale="zh-CN", mobile=True)
    customer.goto(server.url("/chat/"))
    customer.fill("#start-name", "李伟")
    customer.fill("#start-contact", "li.wei@example.com")
    customer.select_option("#start-queue", "general")
    customer.click("#start-button")
    customer.locator("#conversation-view").wait_for(state="visible")
    customer.fill("#composer-text", "我的付款失败了，余额明明够。")
    customer.press("#composer-text", "Enter")
    label = customer.evaluate(
        "document.querySelector('#messages').getAttribute('aria-description')"
    )
    reference = label.split()[-1]
    agent.locator(".cc-waiting-item", has_text=reference).first.locator(".cc-accept").click()
    panel = agent.locator(".cc-panel:not([hidden])")
    panel.locator(".cc-msg-customer", has_text="付款失败").wait_for()
    assert panel.locator(".cc-transfer-button").inner_text() == "转接"
    card = agent.locator("#customer-panel")
    # A typed address is a claim: the claimed customer by name and masked address, and
    # nothing of their wallet until an agent verifies them.
    claim = card.locator(".cc-claim")
    claim.wait_for()
    assert "自称是 李伟 Li Wei（li***@example.com）- 未验证" in claim.inner_text()
    assert card.locator(".cc-wallet").count() == 0 and "余额" not in card.inner_text()
    manage("shell", "-c", LINK_CLAIM.format(reference=reference), env=server.env)
    agent.reload()  # the console's hello brings the chat again, now on the verified customer
    agent.locator(".cc-tab", has_text=reference).first.click()
    panel = agent.locator(".cc-panel:not([hidden])")
    card.locator(".cc-wallet").first.wait_for()
    assert card.locator(".cc-claim").count() == 0
    assert card.locator("h3 a[href*='/admin/accounts/customer/']").count() == 1
    assert card.locator(".cc-wallet h4 a[href*='/admin/accounts/walletaccount/']").count() >= 1
    assert "余额" in card.inner_text()
    assert "综合咨询 General" in card.locator(".cc-queue").inner_text()
    canned = panel.locator(".cc-canned option").all_inner_texts()
    offered = set(canned[1:])
    assert {"问候", "查询中"} <= offered  # this queue's and the general ones (demo's too)
    assert "冻结说明" not in offered  # the security queue's
    assert not any(title.startswith("核实身份") for title in offered)  # demo's, security's
    panel.locator(".cc-canned").select_option(label="查询中")
    assert panel.locator(".cc-text").input_value() == "我正在为您查询，请稍候。"
    panel.locator(".cc-text").fill("您好，我来帮您查看这笔支付。")  # replaces the canned text
    panel.locator(".cc-text").press("Enter")
    customer.locator(".msg-agent .msg-text", has_text="我来帮您查看").wait_for()
    customer.screenshot(path=str(output / "customer-chat-zh.png"))
    agent.screenshot(path=str(output / "agent-console-zh.png"))
    assert customer_errors == []
    assert agent_errors == []
    customer.context.close()
    agent.context.close()


def test_the_app_opens_a_verified_chat_and_the_token_leaves_the_address_bar(
    browser, server, output
):
    token = manage("shell", "-c", APP_TOKEN, env=server.env).stdout.strip().splitlines()[-1]
    page, errors = new_page(browser, viewport=PHONE, locale="zh-CN", mobile=True)
    page.goto(server.url(f"/chat/#app_token={token}"))
    page.locator("#conversation-view").wait_for(state="visible")
    assert page.inner_text("#chat-verified") == "已通过 MY Wallet 应用登录"
    assert "app_token" not in page.url and token not in page.url
    assert page.evaluate("window.location.hash") == ""
    page.screenshot(path=str(output / "customer-app-verified-zh.png"))
    assert errors == []
    page.context.close()
    # The same link again, in another browser (a token is good once): refused, told, and
    # the guest form stays.
    page, errors = new_page(browser, viewport=PHONE, locale="zh-CN", mobile=True)
    page.goto(server.url(f"/chat/#app_token={token}"))
    page.wait_for_function("() => document.querySelector('#start-error').textContent !== ''")
    assert "此应用链接已被使用" in page.inner_text("#start-error")
    assert page.locator("#start-view").is_visible() and "app_token" not in page.url
    assert errors == []
    page.context.close()


def test_signing_out_in_another_tab_ends_the_console_with_a_clear_banner(browser, server):
    """Found on main: the console's socket stayed open after its agent signed out; now it
    is closed (4401) and the console says so instead of reconnecting."""
    from tests.e2e.servers import STAFF_PASSWORD, STAFF_TOTP_KEY, create_staff

    create_staff(server.env, "signed_out")
    key = base64.b32encode(bytes.fromhex(STAFF_TOTP_KEY)).decode()
    console, errors = new_page(browser, viewport=DESKTOP, locale="en-US")
    sign_in(console, server, ("signed_out", STAFF_PASSWORD, key))
    banner = console.locator("#connection")
    banner.wait_for(state="hidden")  # connected

    other = console.context.new_page()
    other.set_default_timeout(TIMEOUT_MS)
    other.goto(server.url("/admin/"))
    other.click("#logout-form [type=submit]")
    other.wait_for_load_state()

    banner.wait_for(state="visible")
    assert "You were signed out" in banner.inner_text()
    assert banner.locator("a").inner_text() == "Sign in again"
    assert errors == []
