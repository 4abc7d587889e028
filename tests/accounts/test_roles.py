"""What each role may do in the admin: the live chat's records and the security records."""

import pytest
from django.contrib.auth.models import Group

from accounts.roles import AGENTS, SUPERVISORS, ensure_roles
from chat.models import CannedReply

pytestmark = pytest.mark.django_db

CANNED = "/admin/chat/cannedreply/"


@pytest.fixture
def canned(db):
    return CannedReply.objects.create(title="Network", text="请检查网络后重试。")


def test_agents_see_conversations_presence_and_canned_replies_but_edit_none(agent):
    for perm in ("view_conversation", "view_agentpresence", "view_cannedreply"):
        assert agent.has_perm(f"chat.{perm}")
    for perm in ("add_cannedreply", "change_cannedreply", "delete_cannedreply"):
        assert not agent.has_perm(f"chat.{perm}")


def test_an_agent_can_read_canned_replies_in_the_admin(agent_client, canned):
    listing = agent_client.get(CANNED)
    assert listing.status_code == 200 and "Network" in listing.content.decode()
    page = agent_client.get(f"{CANNED}{canned.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert agent_client.get(f"{CANNED}add/").status_code == 403
    response = agent_client.post(f"{CANNED}{canned.pk}/change/", {"title": "x", "text": "y"})
    assert response.status_code == 403
    canned.refresh_from_db()
    assert canned.title == "Network"
    assert agent_client.get("/admin/chat/conversation/").status_code == 200
    assert agent_client.get("/admin/chat/agentpresence/").status_code == 200


def test_a_supervisor_can_add_change_and_delete_canned_replies(supervisor_client, canned):
    response = supervisor_client.post(
        f"{CANNED}add/", {"title": "Locked", "text": "我们来帮您解锁。", "position": 1}
    )
    assert response.status_code == 302, response.content
    assert CannedReply.objects.filter(title="Locked").exists()
    response = supervisor_client.post(
        f"{CANNED}{canned.pk}/change/", {"title": "Network", "text": "请重试。", "position": 0}
    )
    assert response.status_code == 302
    canned.refresh_from_db()
    assert canned.text == "请重试。"
    response = supervisor_client.post(f"{CANNED}{canned.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not CannedReply.objects.filter(pk=canned.pk).exists()


def test_ensure_roles_is_idempotent(db):
    ensure_roles()
    ensure_roles()
    agents = Group.objects.get(name=AGENTS).permissions
    supervisors = Group.objects.get(name=SUPERVISORS).permissions
    assert agents.filter(content_type__app_label="chat").count() == 3
    assert supervisors.filter(content_type__app_label="chat").count() == 6


def test_wallet_core_events_are_for_supervisors_and_security_records_for_agents(
    agent_client, supervisor_client
):
    assert supervisor_client.get("/admin/accounts/walletevent/").status_code == 200
    assert agent_client.get("/admin/accounts/walletevent/").status_code == 403
    for listing in ("/admin/accounts/verification/", "/admin/accounts/approvalrequest/"):
        assert agent_client.get(listing).status_code == 200
        assert supervisor_client.get(listing).status_code == 200
