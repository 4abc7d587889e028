"""The Content-Security-Policy in a real browser (issue 12, item 6): headless Debian
chromium (Playwright) against real daphne with the seeded demo.

Every page agents and customers use is opened under the policy the server sends, and the
test fails on any violation the browser reports (a ``securitypolicyviolation`` event or a
"Content Security Policy" console message): the admin (sign-in, ticket list, ticket page
with its security panel, customer page, approvals, chat console), the customer chat page,
the self-service account pages and /demo/app/. An email's tracking pixel, served by a
small HTTP server on 127.0.0.1 (another origin), gets no request until the agent chooses
"Load images for this message", and one after.

Skipped without chromium or playwright locally, as tests/chat's; fails under CI=true.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.chat.test_browser import ADMIN, DESKTOP, PHONE, browser, new_page, totp_code
from tests.e2e.servers import manage, migrated_database, running_daphne

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

__all__ = ["browser"]  # the chat browser test's fixture, shared

# A 1x1 transparent GIF, what a tracking pixel is.
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cf000000030101005d2b8a3e0000000049454e44ae426082"
)

# The email with a tracking pixel (from the pixel server) and an inline image, on Li Wei's
# wallet; and an unfreeze request waiting for a supervisor, for the approvals page. The
# request row is written directly: this test looks at how its page renders, and the
# actions that lead to one are tested in tests/accounts.
SETUP = """
from django.contrib.auth import get_user_model
from accounts.models import ApprovalRequest, WalletAccount
from tickets import actions
from tickets.inbound import Inbound, InboundAttachment
wallet = WalletAccount.objects.order_by("pk").first()
email = wallet.customer.identities.filter(kind="email").first().value
received = actions.receive(Inbound(
    channel="email", sender_kind="email", sender=email, subject="Pixel test",
    text="My payment failed, see the screenshot.",
    html='<p>My payment failed.</p><img src="{pixel}" width="1" height="1" alt="">'
         '<p><img src="cid:shot@mail" alt="screenshot"></p>',
    attachments=(InboundAttachment("shot.png", "image/png", bytes.fromhex({png!r}),
                                   content_id="shot@mail"),),
))
ApprovalRequest.objects.create(
    kind=ApprovalRequest.Kind.UNFREEZE, account=wallet, ticket=received.ticket,
    requested_by=get_user_model().objects.get(username="agent"), reason="Customer verified",
)
print(received.ticket.pk, wallet.customer.pk, ApprovalRequest.objects.get().pk)
"""

# Reports every violation of the page's policy on the console, where the test reads them.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
});
"""


class Pixel:
    """Counts the requests a tracking pixel gets."""

    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_address[1]}/open.gif?u=li.wei"
        self.lock = threading.Lock()
        self.requests = 0


@contextmanager
def running_pixel() -> Iterator[Pixel]:
    ref: list[Pixel] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # quiet
            pass

        def do_GET(self):
            with ref[0].lock:
                ref[0].requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.send_header("Content-Length", str(len(GIF)))
            self.end_headers()
            self.wfile.write(GIF)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ref.append(Pixel(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def pixel():
    with running_pixel() as pixel:
        yield pixel


@pytest.fixture(scope="module")
def site(tmp_path_factory, pixel):
    directory = tmp_path_factory.mktemp("csp-browser")
    with migrated_database(
        directory, seeded=True, DEMO_APP_PAGE="true", DJANGO_MEDIA_ROOT=str(directory / "media")
    ) as env:
        out = manage("shell", "-c", SETUP.format(pixel=pixel.url, png=PNG_1X1.hex()), env=env)
        last_line = out.stdout.strip().splitlines()[-1]
        ticket, customer, approval = (int(n) for n in last_line.split())
        with running_daphne(env=env) as server:
            yield server, {"ticket": ticket, "customer": customer, "approval": approval}


def watched_page(browser, **options):
    """A new page whose policy violations, console errors and script errors are listed."""
    page, errors = new_page(browser, **options)
    page.add_init_script(REPORT_VIOLATIONS)
    violations: list[str] = []

    def on_console(message):
        text = message.text
        if "CSP violation" in text or "Content Security Policy" in text:
            violations.append(f"{page.url}: {text}")

    page.on("console", on_console)
    return page, errors, violations


def visit(page, server, path: str) -> None:
    response = page.goto(server.url(path))
    assert response.status == 200, (path, response.status)
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")


def sign_in_to_admin(page, server, staff: tuple[str, str, str]) -> None:
    """Sign ``staff`` (username, password, TOTP key) in on the admin's login page; lands on
    the dashboard. A TOTP code is good for one sign-in: sign a user in once a test."""
    username, password, key = staff
    visit(page, server, "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.fill("#id_otp_token", totp_code(key))
    page.click("#login-form [type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == "/admin/")


def test_the_detector_sees_a_violation(browser, site):
    """The watch this module relies on: an image from another origin is reported."""
    server, _ = site
    page, _, violations = watched_page(browser, viewport=PHONE, locale="en-US")
    visit(page, server, "/chat/")
    with page.expect_console_message(lambda message: "CSP violation" in message.text):
        page.evaluate(
            "document.body.insertAdjacentHTML('beforeend', '<img src=\"http://127.0.0.1:9/x.png\">')"
        )
    assert violations, "a remote image should have been reported"
    page.context.close()


def test_the_admin_pages_run_under_the_policy(browser, site, pixel):
    server, ids = site
    page, errors, violations = watched_page(browser, viewport=DESKTOP, locale="en-US")
    sign_in_to_admin(page, server, ADMIN)

    for path in [
        "/admin/",
        "/admin/tickets/ticket/",
        f"/admin/tickets/ticket/{ids['ticket']}/change/",
        f"/admin/accounts/customer/{ids['customer']}/change/",
        "/admin/accounts/approvalrequest/",
        f"/admin/accounts/approvalrequest/{ids['approval']}/change/",
        "/admin/chat/console/",
    ]:
        visit(page, server, path)

    # The ticket page: the security panel is there, the pixel is not loaded, the inline
    # screenshot comes from our origin.
    visit(page, server, f"/admin/tickets/ticket/{ids['ticket']}/change/")
    assert page.locator(".mw-sec-form").count() > 0 or page.locator(".mw-sec-stepup").count()
    screenshot = page.locator("img[alt=screenshot]")
    assert urlsplit(screenshot.get_attribute("src")).netloc == ""
    assert page.evaluate("document.querySelector('img[alt=screenshot]').naturalWidth") == 1
    assert pixel.requests == 0
    assert pixel.url not in page.content()

    # The agent's choice: the pixel is fetched, once, and the policy allowed it.
    page.get_by_role("link", name="Load images for this message").click()
    page.wait_for_url(lambda url: "images=" in url)
    page.wait_for_load_state("networkidle")
    assert pixel.requests == 1
    assert "Remote images loaded from" in page.inner_text(".mw-thread")

    # Back to the ticket without the choice: blocked again.
    visit(page, server, f"/admin/tickets/ticket/{ids['ticket']}/change/")
    assert pixel.requests == 1
    assert violations == []
    assert errors == []
    page.context.close()


def test_the_customer_pages_run_under_the_policy(browser, site):
    server, _ = site
    for locale in ("en-US", "zh-CN"):
        page, errors, violations = watched_page(browser, viewport=PHONE, locale=locale, mobile=True)
        visit(page, server, "/chat/")
        page.fill("#start-name", "Zhou Min")
        page.click("#start-button")
        page.locator("#conversation-view, #offline-view").first.wait_for(state="visible")

        visit(page, server, "/account/sign-in/")
        visit(page, server, "/demo/app/")
        page.locator("form button[value=account]").first.click()
        page.wait_for_url(lambda url: urlsplit(url).path == "/account/")
        page.wait_for_load_state("networkidle")
        visit(page, server, "/account/change-contact/")
        visit(page, server, "/account/reset-payment-password/")
        visit(page, server, "/account/")
        page.locator("main a[href^='/account/tickets/']").first.click()
        page.wait_for_url(lambda url: urlsplit(url).path.startswith("/account/tickets/"))
        page.wait_for_load_state("networkidle")
        assert violations == [], locale
        assert errors == [], locale
        page.context.close()
