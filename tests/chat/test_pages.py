"""The customer chat page and the agent console as pages: languages, cookies, who gets in."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.conftest import verified_client

CONSOLE_URL = "/admin/chat/console/"


def config_of(response, script_id: str) -> dict:
    html = response.content.decode()
    start = html.index(f'<script id="{script_id}" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.django_db
def test_the_chat_page_is_served_at_chat():
    assert reverse("chat:page") == "/chat/"
    response = Client().get("/chat/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_the_chat_page_speaks_english_to_an_english_browser():
    response = Client().get("/chat/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Start chat" in html
    assert config_of(response, "chat-config")["strings"]["sending"] == "Sending…"


@pytest.mark.django_db
def test_the_chat_page_speaks_chinese_to_a_chinese_browser(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = Client().get("/chat/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    # Whether or not the catalogue is translated yet, the page answers in the language asked.
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_the_chat_page_sets_the_csrf_cookie_its_script_sends_back():
    response = Client().get("/chat/")

    assert "csrftoken" in response.cookies
    assert not response.cookies["csrftoken"]["httponly"]


@pytest.mark.django_db
def test_the_chat_page_gives_its_script_the_urls_of_the_protocol():
    config = config_of(Client().get("/chat/"), "chat-config")

    assert config["startUrl"] == reverse("chat:start")
    assert config["uploadUrl"] == reverse("chat:upload")
    assert config["leaveMessageUrl"] == reverse("chat:leave_message")
    assert config["socketPath"] == "/ws/chat/"


@pytest.mark.django_db
def test_the_chat_page_loads_its_script_and_style_from_static_files_only():
    html = Client().get("/chat/").content.decode()

    assert "/static/chat/chat.js" in html
    assert "/static/chat/chat.css" in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing external


@pytest.mark.django_db
def test_the_chat_page_refuses_post():
    assert Client().post("/chat/").status_code == 405


def test_the_console_is_served_to_a_verified_agent(agent_client):
    response = agent_client.get(CONSOLE_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/chat/console.js" in html
    assert config_of(response, "console-config")["socketPath"] == "/ws/agent/"
    assert reverse("admin:chat_console") == CONSOLE_URL


def test_the_console_speaks_chinese_like_the_rest_of_the_admin(agent_client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    response = agent_client.get(CONSOLE_URL, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    assert response.status_code == 200
    assert '<html lang="zh-hans"' in response.content.decode()


def test_the_admin_links_to_the_console_for_verified_agents(agent_client):
    html = agent_client.get(reverse("admin:index")).content.decode()

    assert f'href="{CONSOLE_URL}"' in html


def test_the_console_sends_an_anonymous_visitor_to_the_login(db):
    response = Client().get(CONSOLE_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_console_refuses_a_staff_session_without_the_second_factor(agent):
    client = Client()
    client.force_login(agent)  # password only: no verified device in the session

    response = client.get(CONSOLE_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_console_refuses_a_verified_user_who_is_not_staff(agent):
    agent.is_staff = False
    agent.save()

    response = verified_client(agent).get(CONSOLE_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_console_is_served_to_a_supervisor_too(supervisor_client):
    assert supervisor_client.get(CONSOLE_URL).status_code == 200


# --- the Chinese catalogue ------------------------------------------------------------------


def untranslated(strings: dict, translated: dict) -> list[str]:
    return [key for key, value in strings.items() if translated[key] == str(value)]


@pytest.mark.django_db
def test_every_string_of_the_chat_page_is_translated(settings):
    from chat.pages import CUSTOMER_STRINGS

    settings.LANGUAGE_CODE = "zh-hans"
    response = Client().get("/chat/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    strings = config_of(response, "chat-config")["strings"]
    with translation.override("en"):
        english = {key: str(value) for key, value in CUSTOMER_STRINGS.items()}
    assert untranslated(english, strings) == []
    html = response.content.decode()
    assert "开始咨询" in html and "提交留言" in html and "Start chat" not in html


def test_every_string_of_the_console_is_translated_and_transfer_is_not_a_payment(
    agent_client, settings
):
    from chat.console import CONSOLE_STRINGS

    settings.LANGUAGE_CODE = "zh-hans"
    response = agent_client.get(CONSOLE_URL, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    strings = config_of(response, "console-config")["strings"]
    with translation.override("en"):
        english = {key: str(value) for key, value in CONSOLE_STRINGS.items()}
    assert untranslated(english, strings) == []
    assert strings["closedList"] == "已结束"  # not the ticket field "关闭时间"
    html = response.content.decode()
    assert ">转接</button>" in html and "转账" not in html
