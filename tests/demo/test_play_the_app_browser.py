"""The demo's "play the app" page in a real browser (headless Debian chromium, Playwright)
against real daphne with the seeded demo: "Open my account as Li Wei" signs a token, the
sign-in page's script posts it from the address's fragment, and Li Wei lands on My
account with their tickets. Skipped without chromium or playwright, as tests/chat's."""

from urllib.parse import urlsplit

import pytest

from tests.chat.test_browser import PHONE, browser, new_page
from tests.e2e.servers import migrated_database, running_daphne

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

__all__ = ["browser"]  # the module's browser fixture, shared with the chat's browser test


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with (
        migrated_database(
            tmp_path_factory.mktemp("demo-app"), seeded=True, DEMO_APP_PAGE="true"
        ) as env,
        running_daphne(env=env) as server,
    ):
        yield server


def test_open_my_account_as_li_wei_lands_signed_in_with_the_tickets(browser, server):
    page, errors = new_page(browser, viewport=PHONE, locale="en-US", mobile=True)
    page.goto(server.url("/demo/app/"))
    page.get_by_role("button", name="Open my account as 李伟 Li Wei").click()

    page.wait_for_url(lambda url: urlsplit(url).path == "/account/")
    assert urlsplit(page.url).fragment == ""  # the token left the address bar
    text = page.inner_text("main")
    assert "李伟 Li Wei" in text
    assert "MW88****0101" in text
    assert "Payment failed" in text  # the seeded email ticket
    page.get_by_role("link", name="支付失败，请帮忙查看 / Payment failed").first.click()
    page.wait_for_url(lambda url: urlsplit(url).path.startswith("/account/tickets/"))
    assert "Thanks, it works now." in page.inner_text("main")
    assert errors == []
