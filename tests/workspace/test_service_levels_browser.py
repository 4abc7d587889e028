"""The supervisors' SLA and routing pages in a real browser (headless chromium, Playwright)
against real daphne with the seeded demo, under the server's Content-Security-Policy: the
seeded policies and rules are listed, and "test a text" names the rule a Chinese or English
message would get; a ticket shows its SLA chip. Screenshots at 1366x768 in English and Chinese go to
test-output/screenshots/ (not committed; CI keeps them).

Skipped without chromium or playwright locally, as tests/chat's; fails under CI=true.
"""

import pytest

from tests.chat.test_browser import ADMIN, SUPERVISOR, browser
from tests.e2e.servers import ROOT, migrated_database, running_daphne
from tests.workspace.test_csp_browser import sign_in_to_admin, visit, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

__all__ = ["browser"]

SCREEN = {"width": 1366, "height": 768}
SCREENSHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("service-levels-browser")
    with migrated_database(directory, seeded=True) as env, running_daphne(env=env) as server:
        yield server


def signed_in(browser, site, login, locale: str):
    page, errors, violations = watched_page(browser, viewport=SCREEN, locale=locale)
    sign_in_to_admin(page, site, login)
    return page, errors, violations


@pytest.mark.parametrize(
    ("login", "locale", "text", "routed", "suffix"),
    [
        (SUPERVISOR, "en-US", "My payment failed at the station", "Payment failed", "en"),
        (ADMIN, "zh-CN", "我的账户被冻结了", "分派到 账户安全 Security", "zh"),
    ],
)
def test_a_supervisor_sees_the_policies_and_tests_a_text(
    browser, site, login, locale, text, routed, suffix
):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, errors, violations = signed_in(browser, site, login, locale)

    visit(page, site, "/admin/tickets/slapolicy/")
    assert page.locator("#result_list tbody tr").count() == 5  # four priorities, security
    page.screenshot(path=str(SCREENSHOTS / f"sla-policies-{suffix}.png"))

    visit(page, site, "/admin/tickets/routingrule/")
    assert "支付失败 Payment failed" in page.inner_text("#result_list")
    page.screenshot(path=str(SCREENSHOTS / f"routing-rules-{suffix}.png"))

    page.click(".object-tools a[href$='/preview/']")
    page.select_option("#id_channel", "wechat")
    page.fill("#id_text", text)
    page.click(".submit-row [type=submit]")
    page.locator("#routing-result").wait_for()
    assert routed in page.inner_text("#routing-result")
    page.screenshot(path=str(SCREENSHOTS / f"routing-preview-{suffix}.png"))

    visit(page, site, "/admin/tickets/ticket/1/change/")  # the demo's first ticket, just opened
    assert page.locator(".mw-ticket-meta .mw-sla-ok").is_visible()
    page.screenshot(path=str(SCREENSHOTS / f"ticket-sla-chip-{suffix}.png"))
    assert not violations, violations
    assert not errors, errors
    page.context.close()
