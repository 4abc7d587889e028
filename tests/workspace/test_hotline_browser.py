"""The hotline's pages in a real browser (headless chromium, Playwright) against real
daphne with the seeded demo, under the Content-Security-Policy the server sends: typing Li
Wei's registered number on the log-a-call page shows who it is before anything is saved
(static/phone/caller.js, no inline script), saving lands on his ticket; the customers'
callback page works in Chinese.

Skipped without chromium or playwright locally, as tests/chat's; fails under CI=true.
"""

import pytest

from tests.chat.test_browser import ADMIN, DESKTOP, PHONE, browser
from tests.e2e.servers import demo_site
from tests.workspace.test_csp_browser import sign_in_to_admin, visit, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

__all__ = ["browser"]

LI_WEI_TYPED = "138 0013 8001"  # his registered +8613800138001, as an agent types it


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("hotline-browser")) as server:
        yield server


def test_logging_a_call_shows_the_caller_then_files_it_on_his_ticket(browser, site):
    page, errors, violations = watched_page(browser, viewport=DESKTOP, locale="en-US")
    sign_in_to_admin(page, site, ADMIN)

    visit(page, site, "/admin/tickets/calllog/add/")
    page.fill("#id_caller_number", LI_WEI_TYPED)
    preview = page.locator("#caller-preview")
    preview.filter(has_text="Li Wei").wait_for()
    assert "MW-" in preview.inner_text()  # his open ticket
    assert "li.wei@" not in preview.inner_text()  # his email, masked

    page.fill("#id_notes", "Asked about the failed payment again.")
    page.click("#calllog_form [name=_save]")
    page.wait_for_url(lambda url: "/admin/tickets/ticket/" in url)
    assert "Asked about the failed payment again." in page.content()
    assert not violations, violations
    assert not errors, errors
    page.context.close()


def test_the_callback_page_in_chinese(browser, site):
    page, errors, violations = watched_page(browser, viewport=PHONE, locale="zh-CN")
    page.set_extra_http_headers({"Accept-Language": "zh-Hans"})
    visit(page, site, "/callback/")
    page.fill("#id_phone", "13912345678")
    page.click("button.primary")
    page.get_by_text("谢谢，我们会给您回电。").wait_for()
    assert not violations, violations
    assert not errors, errors
    page.context.close()
