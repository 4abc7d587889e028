"""The supervisors' pages for SLA policies and routing rules (workspace/admin/
service_levels.py): supervisors list, add and change them, agents may not; the "test a
text" preview names the rule that would route a message, in English and Chinese, and
answers bad input with the form's errors; the ticket page's SLA chip."""

import pytest
from django.urls import reverse

from tests.tickets.clock import clock
from tickets import actions
from tickets.models import Queue, RoutingRule, SLAPolicy, Ticket

__all__ = ["clock"]

PREVIEW = "/admin/tickets/routingrule/preview/"


@pytest.fixture
def rule(db):
    queue = Queue.objects.create(slug="transactions", name="Transactions")
    return RoutingRule.objects.create(
        name="Payment failures",
        queue=queue,
        keywords="支付失败\npayment failed",
        set_category=Ticket.Category.TRANSACTION,
    )


def test_a_supervisor_adds_an_sla_policy(supervisor_client):
    response = supervisor_client.post(
        reverse("admin:tickets_slapolicy_add"),
        {
            "priority": Ticket.Priority.HIGH,
            "category": Ticket.Category.SECURITY,
            "first_response_minutes": 30,
            "resolution_minutes": 240,
            "active": "on",
        },
    )
    assert response.status_code == 302
    policy = SLAPolicy.objects.get()
    assert (policy.priority, policy.category, policy.first_response_minutes) == (3, "security", 30)
    listing = supervisor_client.get(reverse("admin:tickets_slapolicy_changelist"))
    assert listing.status_code == 200


def test_a_second_policy_for_the_same_priority_and_category_is_refused(supervisor_client):
    SLAPolicy.objects.create(priority=2, first_response_minutes=60, resolution_minutes=600)
    response = supervisor_client.post(
        reverse("admin:tickets_slapolicy_add"),
        {"priority": 2, "category": "", "first_response_minutes": 5, "resolution_minutes": 50},
    )
    assert response.status_code == 200
    assert SLAPolicy.objects.count() == 1


def test_agents_cannot_see_the_policies_or_the_rules(agent_client, rule):
    for url in (
        reverse("admin:tickets_slapolicy_changelist"),
        reverse("admin:tickets_routingrule_changelist"),
        PREVIEW,
    ):
        assert agent_client.get(url).status_code == 403


def test_a_supervisor_edits_a_rule_and_the_list_links_the_preview(supervisor_client, rule):
    listing = supervisor_client.get(reverse("admin:tickets_routingrule_changelist"))
    assert PREVIEW in listing.text
    page = supervisor_client.get(reverse("admin:tickets_routingrule_change", args=[rule.pk]))
    assert "支付失败" in page.text


@pytest.mark.parametrize(
    ("language", "routed"),
    [("en", "Routed to Transactions by rule Payment failures."), ("zh-hans", "按规则")],
)
def test_the_preview_names_the_rule_for_a_chinese_text(supervisor_client, rule, language, routed):
    response = supervisor_client.post(
        PREVIEW,
        {"channel": "wechat", "category": "other", "text": "昨天支付失败了"},
        headers={"accept-language": language},
    )
    assert response.status_code == 200
    assert routed in response.text
    assert RoutingRule.objects.count() == 1  # nothing saved


def test_the_preview_says_when_no_rule_matches_and_shows_bad_input(supervisor_client, rule):
    response = supervisor_client.post(
        PREVIEW, {"channel": "email", "category": "other", "text": "Hello there"}
    )
    assert "No rule matches" in response.text
    bad = supervisor_client.post(PREVIEW, {"channel": "pigeon", "text": ""})
    assert bad.status_code == 200
    assert "errorlist" in bad.text


@pytest.mark.parametrize(
    ("minutes", "state", "label"),
    [
        (0, "ok", "First response due"),
        (45, "soon", "First response due soon"),
        (61, "breached", "First response overdue since"),
    ],
)
def test_the_ticket_page_shows_the_sla_chip_coloured_by_how_near_the_due_time_is(
    agent_client, customer, clock, minutes, state, label
):
    SLAPolicy.objects.create(priority=2, first_response_minutes=60, resolution_minutes=600)
    ticket = actions.open_ticket(customer=customer, channel="web", subject="Help", acting_user=None)
    clock.advance(minutes=minutes)
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert f'class="mw-sla mw-sla-{state}"' in page.text
    assert label in page.text


def test_a_ticket_pending_the_customer_shows_no_sla_chip(agent_client, customer, agent):
    ticket = actions.open_ticket(customer=customer, channel="web", subject="Help", acting_user=None)
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.PENDING)
    page = agent_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    assert 'class="mw-sla' not in page.text
