"""Who is an agent: one rule (accounts.permissions.is_agent) that the actions, the agent
socket, the chat's attachments and the workspace's console all ask."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import PermissionDenied
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.permissions import (
    UNLOCK_WALLETS,
    VIEW_WALLETS,
    WORK_TICKETS,
    is_agent,
    permission_refusal,
    require_agent,
    require_permission,
)
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db


def staff(django_user_model, username="staff", *perms, **fields):
    user = django_user_model.objects.create_user(username=username, is_staff=True, **fields)
    codenames = [perm.split(".")[1] for perm in perms]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return django_user_model.objects.get(pk=user.pk)  # no cached permissions


def test_an_agent_of_the_group_is_an_agent(agent, supervisor):
    assert is_agent(agent)
    assert is_agent(supervisor)
    require_agent(agent)


def test_an_inactive_user_is_no_agent_whatever_they_hold(django_user_model):
    user = staff(django_user_model, "gone", WORK_TICKETS, is_active=False)
    assert not is_agent(user)
    with pytest.raises(PermissionDenied, match="Only agents"):
        require_agent(user)


def test_a_user_who_is_not_staff_is_no_agent_even_with_the_permission(django_user_model):
    user = django_user_model.objects.create_user("customer")
    user.user_permissions.set(Permission.objects.filter(codename="change_ticket"))
    user = django_user_model.objects.get(pk=user.pk)
    assert user.has_perm(WORK_TICKETS)
    assert not is_agent(user)


def test_staff_without_the_ticket_permission_are_no_agents(django_user_model):
    user = staff(django_user_model, "clerk", "tickets.view_ticket")
    assert not is_agent(user)


def test_nobody_signed_in_is_no_agent():
    assert not is_agent(None)
    assert not is_agent(AnonymousUser())


def test_a_superuser_is_an_agent_only_as_staff(django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x" * 20)
    assert is_agent(admin)
    admin.is_staff = False
    assert not is_agent(admin)


def test_permission_refusal_is_the_text_require_permission_refuses_with(agent, django_user_model):
    assert permission_refusal(agent, UNLOCK_WALLETS) == ""
    clerk = staff(django_user_model, "clerk", VIEW_WALLETS)
    reason = permission_refusal(clerk, UNLOCK_WALLETS)
    assert reason == "You do not have permission to do this."
    with pytest.raises(PermissionDenied, match=reason):
        require_permission(clerk, UNLOCK_WALLETS)
    # agent=True: the permission alone is not enough without being an agent.
    assert permission_refusal(clerk, VIEW_WALLETS) == ""
    assert permission_refusal(clerk, VIEW_WALLETS, agent=True) == reason


def test_the_chat_console_is_for_agents_only(django_user_model, agent_client):
    clerk = staff(django_user_model, "clerk", "tickets.view_ticket")
    TOTPDevice.objects.create(user=clerk, name="app", confirmed=True)
    assert verified_client(clerk).get("/admin/chat/console/").status_code == 403
    assert agent_client.get("/admin/chat/console/").status_code == 200
