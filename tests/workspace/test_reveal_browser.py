"""The reveal on the ticket page in a real browser (headless chromium, Playwright) against
real daphne with the seeded demo, under the server's Content-Security-Policy, in English
and Chinese at 1366x768: the demo agent opens a ticket whose mail holds an ID number, a
card number and a phone number, sees them masked, reveals the card with a reason, sees it
in place, and after a reload sees it masked again. Screenshots before and after go to
test-output/screenshots/.

Skipped without chromium or playwright locally, as tests/chat's; fails under CI=true.
"""

from dataclasses import dataclass

import pytest

from tests.e2e.servers import manage, migrated_database, running_daphne
from tests.workspace.test_csp_browser import visit
from tests.workspace.test_ticket_page_browser import SCREENS, agent_page, signed_in

from .test_ticket_page_browser import browser

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

__all__ = ["browser", "signed_in"]

ID_NUMBER = "110101199003074514"
CARD = "6222021234567890123"
CARD_MASKED = "622202*********0123"
# Li Wei's mail, received as any mail is; until the thread stores messages protected (the
# "rest" lane of issue 16), it is protected here the way the thread will.
RECEIVE = f"""
from tickets import actions
from tickets.inbound import Inbound
from tickets.models import Message, SensitiveValue
from tickets.personal_data import protect, value_rows
text = "我的身份证号是{ID_NUMBER}，银行卡号{CARD}，新手机号13912345678"
message = actions.receive(Inbound(channel="email", sender_kind="email",
    sender="li.wei@example.com", text=text, subject="Card", external_id="<pii-1@x>")).message
if not message.sensitive_values.exists():
    protected = protect(message.text)
    Message.objects.filter(pk=message.pk).update(text=protected.text)
    SensitiveValue.objects.bulk_create(value_rows(message.pk, protected.found))
print(message.ticket_id)
"""


@dataclass(frozen=True)
class Site:
    server: object
    ticket: str


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reveal-browser")
    with migrated_database(
        directory, seeded=True, DJANGO_MEDIA_ROOT=str(directory / "media")
    ) as env:
        ticket = manage("shell", "-c", RECEIVE, env=env).stdout.strip().splitlines()[-1]
        with running_daphne(env=env) as server:
            yield Site(server, ticket=f"/admin/tickets/ticket/{ticket}/change/")


@pytest.mark.parametrize(
    ("locale", "reveal", "show"), [("en-US", "Reveal", "Show"), ("zh-CN", "查看完整信息", "显示")]
)
def test_an_agent_reveals_one_value_with_a_reason(browser, site, signed_in, locale, reveal, show):
    page, errors, violations = agent_page(browser, signed_in, locale)
    SCREENS.mkdir(parents=True, exist_ok=True)
    language = locale[:2]
    visit(page, site.server, site.ticket)
    assert CARD not in page.content() and ID_NUMBER not in page.content()
    # The line is found by its masked form once; after the reveal, by its id.
    ident = page.locator(".mw-personal-shown", has_text=CARD_MASKED).get_attribute("id")
    card = page.locator(".mw-personal-value", has=page.locator(f"#{ident}"))
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS / f"reveal-before-{language}.png"))

    card.get_by_role("button", name=reveal).click()
    card.locator("input[name=reason]").fill("short")  # refused: a reason says why
    card.get_by_role("button", name=show).click()
    refusal = card.locator(".mw-reveal-error")
    refusal.filter(has_text="10").wait_for()
    assert CARD not in page.content()
    card.locator("input[name=reason]").fill("客户询问退款退到哪张卡 / which card was refunded")
    card.get_by_role("button", name=show).click()
    shown = page.locator(f"#{ident}.mw-revealed")
    shown.wait_for()
    assert shown.inner_text() == CARD
    assert ID_NUMBER not in page.content()  # only the value asked for
    page.screenshot(path=str(SCREENS / f"reveal-after-{language}.png"))

    visit(page, site.server, site.ticket)  # the reveal expires with the page
    assert CARD not in page.content()
    stored = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert CARD not in stored  # nothing kept client-side (the admin keeps its theme there)
    assert not violations, violations
    assert not errors, errors
    page.context.close()
