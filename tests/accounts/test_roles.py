"""What each role may do in the admin: the live chat's records and the security records."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import AGENTS, SUPERVISORS, ensure_roles
from tickets.models import Macro

pytestmark = pytest.mark.django_db

MACROS = "/admin/tickets/macro/"
ARTICLES = "/admin/tickets/article/"


@pytest.fixture
def macro(db):
    return Macro.objects.create(
        title="Network", body_en="Check your network.", body_zh="请检查网络后重试。"
    )


def test_agents_see_conversations_presence_macros_and_articles_but_edit_none(agent):
    for perm in ("chat.view_conversation", "chat.view_agentpresence"):
        assert agent.has_perm(perm)
    for model in ("macro", "article"):
        assert agent.has_perm(f"tickets.view_{model}")
        for action in ("add", "change", "delete"):
            assert not agent.has_perm(f"tickets.{action}_{model}")


def test_an_agent_can_read_macros_in_the_admin(agent_client, macro):
    listing = agent_client.get(MACROS)
    assert listing.status_code == 200 and "Network" in listing.content.decode()
    page = agent_client.get(f"{MACROS}{macro.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert agent_client.get(f"{MACROS}add/").status_code == 403
    assert agent_client.get(f"{ARTICLES}add/").status_code == 403
    response = agent_client.post(f"{MACROS}{macro.pk}/change/", {"title": "x", "body_en": "y"})
    assert response.status_code == 403
    macro.refresh_from_db()
    assert macro.title == "Network"
    assert agent_client.get(ARTICLES).status_code == 200
    assert agent_client.get("/admin/chat/conversation/").status_code == 200
    assert agent_client.get("/admin/chat/agentpresence/").status_code == 200


def _macro_form(**fields):
    return {
        "title": "Locked",
        "body_en": "We unlock it.",
        "body_zh": "我们来帮您解锁。",
        "status": "",
        "active": "on",
        "position": 1,
        **fields,
    }


def test_a_supervisor_can_add_change_and_delete_macros(supervisor_client, macro):
    response = supervisor_client.post(f"{MACROS}add/", _macro_form())
    assert response.status_code == 302, response.content
    assert Macro.objects.filter(title="Locked").exists()
    response = supervisor_client.post(
        f"{MACROS}{macro.pk}/change/",
        _macro_form(title="Network", body_zh="请重试。", status="pending"),
    )
    assert response.status_code == 302
    macro.refresh_from_db()
    assert (macro.body_zh, macro.status) == ("请重试。", "pending")
    response = supervisor_client.post(f"{MACROS}{macro.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Macro.objects.filter(pk=macro.pk).exists()


def test_a_macro_with_an_unknown_placeholder_is_refused_when_saved(supervisor_client):
    response = supervisor_client.post(
        f"{MACROS}add/", _macro_form(body_en="Hello {customer_nme}, see {ticket_reference}.")
    )
    assert response.status_code == 200  # the form again, with the error
    assert "{customer_nme}" in response.content.decode()
    assert not Macro.objects.exists()


def test_a_supervisor_can_write_a_help_article(supervisor_client):
    response = supervisor_client.post(
        f"{ARTICLES}add/",
        {
            "slug": "card-limits",
            "category": "payments",
            "position": 0,
            "published": "on",
            "title_en": "Card limits",
            "title_zh": "银行卡限额",
            "body_en": "Each card has a daily limit.",
            "body_zh": "每张卡都有每日限额。",
            "keywords_en": "limit",
            "keywords_zh": "限额",
        },
    )
    assert response.status_code == 302, response.content
    assert supervisor_client.get("/help/card-limits/").status_code == 200


def test_ensure_roles_is_idempotent(db):
    ensure_roles()
    ensure_roles()
    agents = Group.objects.get(name=AGENTS).permissions
    supervisors = Group.objects.get(name=SUPERVISORS).permissions
    assert agents.filter(content_type__app_label="chat").count() == 2
    assert supervisors.filter(content_type__app_label="chat").count() == 2
    knowledge = {
        "content_type__app_label": "tickets",
        "content_type__model__in": ["macro", "article"],
    }
    assert agents.filter(**knowledge).count() == 2
    assert supervisors.filter(**knowledge).count() == 8


def test_wallet_core_events_are_for_supervisors_and_security_records_for_agents(
    agent_client, supervisor_client
):
    assert supervisor_client.get("/admin/accounts/walletevent/").status_code == 200
    assert agent_client.get("/admin/accounts/walletevent/").status_code == 403
    for listing in ("/admin/accounts/verification/", "/admin/accounts/approvalrequest/"):
        assert agent_client.get(listing).status_code == 200
        assert supervisor_client.get(listing).status_code == 200
