"""The agent console with a long queue, in headless Debian chromium against real daphne.

The console lists the oldest CHAT_WAITING_LISTED waiting chats (5 here), oldest first, and
"+K more waiting" for the rest; when the oldest is taken, the next one fills its place from
the change the server sends, without the whole list (tests/chat/test_queue_scale.py checks
the frames; this checks what console.js makes of them). A screenshot goes to
test-output/chat-browser/.
"""

from urllib.parse import urlsplit

import pytest

from tests.e2e.servers import (
    STAFF_PASSWORD,
    create_staff,
    manage,
    migrated_database,
    running_daphne,
    totp_now,
)

from .test_browser import DESKTOP, browser, new_page, output  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_pass]

LISTED = 5
WAITING = 12

FILL = f"""
from tests.chat.queue_fill import fill_queue
from tickets.models import Ticket
ids = fill_queue({WAITING})
print("REFERENCES", " ".join(Ticket.objects.get(conversation__pk=pk).reference for pk in ids))
"""


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory):
    with migrated_database(
        tmp_path_factory.mktemp("chat-queue"),
        CHAT_AUTO_ASSIGN="false",
        CHAT_WAITING_LISTED=str(LISTED),
    ) as env:
        create_staff(env, "queueagent")
        printed = manage("shell", "-c", FILL, env=env).stdout
        references = printed.split("REFERENCES", 1)[1].split()
        assert len(references) == WAITING
        with running_daphne(env=env) as server:
            yield server, references


def listed(page) -> list[str]:
    return page.locator("#waiting-list .cc-ref").all_inner_texts()


def test_the_console_lists_the_oldest_first_and_counts_the_rest(browser, queue_server, output):  # noqa: F811
    server, references = queue_server
    page, errors = new_page(browser, viewport=DESKTOP, locale="en-US")
    page.goto(server.url("/admin/login/?next=/admin/chat/console/"))
    page.fill("#id_username", "queueagent")
    page.fill("#id_password", STAFF_PASSWORD)
    page.fill("#id_otp_token", totp_now())
    page.click("#login-form [type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == "/admin/chat/console/")

    page.locator("#waiting-more").wait_for(state="visible")
    assert listed(page) == references[:LISTED]
    assert page.inner_text("#waiting-count") == str(WAITING)
    assert page.inner_text("#waiting-more") == f"+{WAITING - LISTED} more waiting"
    page.screenshot(path=str(output / "console-long-queue.png"))

    # Taking the oldest: it leaves the list, the sixth oldest fills the last place.
    page.check("input[name=presence][value=online]")
    page.locator("#waiting-list .cc-accept").first.click()
    page.locator(".cc-tab-ref").first.wait_for(state="visible")
    page.wait_for_function(
        "(expected) => document.getElementById('waiting-count').textContent === expected",
        arg=str(WAITING - 1),
    )
    assert listed(page) == references[1 : LISTED + 1]
    assert page.inner_text("#waiting-more") == f"+{WAITING - 1 - LISTED} more waiting"
    assert errors == []
