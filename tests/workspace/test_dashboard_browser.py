"""The admin home's dashboard in a real browser (headless chromium, Playwright) against
real daphne with the seeded demo, under the Content-Security-Policy the server sends: the
demo agent signs in and sees the headline figures and every chart drawn, in English and in
Chinese, with no policy violation and no script error. Screenshots at 1366x768 go to
test-output/screenshots/ (kept by CI as artifacts).

Skipped without chromium or playwright locally, as tests/chat's; fails under CI=true.
"""

from pathlib import Path

import pytest

from tests.chat.test_browser import AGENT, browser
from tests.e2e.servers import demo_site
from tests.workspace.test_csp_browser import sign_in_to_admin, visit, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

__all__ = ["browser"]

SCREEN = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
CHARTS = 7


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("dashboard-browser")) as server:
        yield server


@pytest.fixture(scope="module")
def agent_cookies(browser, site):
    """The demo agent's signed-in session, once: a TOTP code is good for one sign-in."""
    page, _errors, _violations = watched_page(browser, viewport=SCREEN, locale="en-US")
    sign_in_to_admin(page, site, AGENT)
    cookies = page.context.cookies()
    page.context.close()
    return cookies


@pytest.mark.parametrize(
    ("locale", "language", "heading"),
    [("en-US", "en", "Tickets per channel per day"), ("zh-CN", "zh-Hans", "每天各渠道的工单")],
)
def test_the_agent_sees_the_dashboard(browser, site, agent_cookies, locale, language, heading):
    page, errors, violations = watched_page(browser, viewport=SCREEN, locale=locale)
    page.set_extra_http_headers({"Accept-Language": language})
    page.context.add_cookies(agent_cookies)
    visit(page, site, "/admin/")
    page.locator("figcaption", has_text=heading).wait_for()
    assert page.locator(".headline-card").count() == 5
    assert page.locator("svg.chart").count() == CHARTS
    # The seeded history draws bars and lines, coloured by the static stylesheet.
    assert page.locator("svg.chart rect").count() > 20
    assert page.locator("svg.chart polyline").count() >= 2
    fill = page.evaluate(
        "getComputedStyle(document.querySelector('svg.chart rect.series-email')).fill"
    )
    assert fill == "rgb(31, 115, 183)"
    assert page.locator(".models-list").is_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{locale}.png"), full_page=True)
    assert not violations, violations
    assert not errors, errors
    page.context.close()
