"""Housekeeping on a moving clock (tickets.actions.housekeeping): SLA warnings and breaches
told to the queue's supervisors once, by mail and in the history, with the reassignment a
policy asks for; reminders to customers who do not answer, in their language, then the
automatic solve; solved tickets closed; the worker's loop surviving a failing job; the
`housekeeping` command. The race of two workers runs in the PostgreSQL pass."""

import logging
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import race
from tests.tickets import factories
from tickets import actions
from tickets.actions.housekeeping import escalate, run_housekeeping
from tickets.history import ticket_history
from tickets.management.commands.run_worker import PeriodicJob, periodic_jobs, run_periodic
from tickets.models import Message, Queue, SLAPolicy, Ticket, TicketEvent


@pytest.fixture
def queue(db, supervisor, agent, other_agent):
    queue = Queue.objects.create(slug="transactions", name="Transactions")
    queue.agents.add(supervisor, agent, other_agent)
    supervisor.email = "boss@mywallet.example"
    supervisor.save()
    return queue


@pytest.fixture
def policy(db):
    return SLAPolicy.objects.create(
        priority=Ticket.Priority.NORMAL, first_response_minutes=60, resolution_minutes=600
    )


def open_ticket(customer, queue=None):
    return actions.open_ticket(
        customer=customer, channel="web", subject="Payment failed", queue=queue, acting_user=None
    )


def sla_events(ticket):
    return list(
        ticket.events.filter(
            kind__in=[TicketEvent.Kind.SLA_WARNING, TicketEvent.Kind.SLA_BREACHED]
        ).values_list("kind", "data__target", "actor")
    )


# --- escalation -----------------------------------------------------------------------------


def test_a_supervisor_is_warned_once_then_told_once_of_the_breach(
    customer, queue, policy, clock, supervisor
):
    ticket = open_ticket(customer, queue)
    clock.advance(minutes=20)
    assert run_housekeeping()["sla_warnings"] == 0
    clock.advance(minutes=15)  # 25 minutes before the first response is due
    assert run_housekeeping()["sla_warnings"] == 1
    assert run_housekeeping()["sla_warnings"] == 0
    assert sla_events(ticket) == [("sla_warning", "first_response", None)]
    (warning,) = mail.outbox
    assert warning.to == ["boss@mywallet.example"]
    assert ticket.reference in warning.body

    clock.advance(minutes=30)
    counts = run_housekeeping()
    assert (counts["sla_breaches"], counts["reassigned"]) == (1, 0)
    assert run_housekeeping()["sla_breaches"] == 0
    assert sla_events(ticket)[-1] == ("sla_breached", "first_response", None)
    assert len(mail.outbox) == 2
    event = ticket.events.get(kind=TicketEvent.Kind.SLA_BREACHED)
    assert event.data["notified"] == [supervisor.username]
    summaries = {entry.event.kind: entry.summary for entry in ticket_history(ticket)}
    assert summaries["sla_breached"].startswith("first response due ")
    assert summaries["sla_breached"].endswith("supervisors told: supervisor")


def test_a_ticket_without_a_queue_alerts_every_supervisor(customer, supervisor, policy, clock):
    supervisor.email = "boss@mywallet.example"
    supervisor.save()
    open_ticket(customer)
    clock.advance(hours=2)
    assert run_housekeeping()["sla_breaches"] == 1
    assert [message.to for message in mail.outbox] == [["boss@mywallet.example"]]


def test_an_answered_ticket_is_escalated_for_its_resolution_only(
    customer, queue, policy, clock, agent
):
    ticket = open_ticket(customer, queue)
    actions.reply(ticket, acting_user=agent, body="We are on it")
    clock.advance(hours=9, minutes=45)
    assert run_housekeeping()["sla_warnings"] == 1
    assert sla_events(ticket) == [("sla_warning", "resolution", None)]


def test_a_breach_reassigns_to_the_least_loaded_agent_of_the_queue_when_the_policy_says(
    customer, queue, policy, clock, agent, other_agent, supervisor
):
    policy.reassign_on_breach = True
    policy.save()
    late = open_ticket(customer, queue)
    actions.assign(late, acting_user=supervisor, assignee=supervisor)
    clock.advance(minutes=90)
    busy = open_ticket(customer, queue)  # its first response is due in an hour: a warning
    actions.assign(busy, acting_user=supervisor, assignee=other_agent)
    clock.advance(minutes=40)
    counts = run_housekeeping()
    assert (counts["sla_breaches"], counts["sla_warnings"], counts["reassigned"]) == (1, 1, 1)
    late.refresh_from_db()
    busy.refresh_from_db()
    assert late.assignee == agent  # holds nothing; other_agent holds one
    assert busy.assignee == other_agent
    assignment = late.events.filter(kind=TicketEvent.Kind.ASSIGNED).last()
    assert assignment.actor is None
    assert assignment.data["by"] == "auto"


def test_the_setting_reassigns_breaches_without_a_policy_and_never_twice(
    customer, queue, clock, agent, other_agent, supervisor, settings
):
    settings.SLA_ESCALATE_REASSIGN = True
    ticket = open_ticket(customer, queue)  # TICKET_SLA_HOURS: first response in 8 hours
    actions.assign(ticket, acting_user=supervisor, assignee=other_agent)
    clock.advance(hours=8, minutes=1)
    assert run_housekeeping()["reassigned"] == 1
    assert run_housekeeping()["reassigned"] == 0
    ticket.refresh_from_db()
    assert ticket.assignee == supervisor  # holds nothing, as agent: the earlier account


def test_a_pass_costs_the_same_queries_however_many_tickets_breach(customer, queue, policy, clock):
    for _ in range(3):
        open_ticket(customer, queue)
    clock.advance(hours=2)
    with CaptureQueriesContext(connection) as few:
        assert run_housekeeping()["sla_breaches"] == 3
    for _ in range(30):
        open_ticket(customer, queue)
    clock.advance(hours=20)  # the new tickets' first responses and every resolution breach
    with CaptureQueriesContext(connection) as many:
        assert run_housekeeping()["sla_breaches"] == 63
    assert len(many.captured_queries) == len(few.captured_queries)


# --- pending the customer, solved -----------------------------------------------------------


@pytest.fixture
def pending(customer, agent, clock):
    ticket = open_ticket(customer)
    actions.reply(ticket, acting_user=agent, body="Which card did you use?")
    return actions.change_status(ticket, acting_user=agent, status=Ticket.Status.PENDING)


def reminders(ticket):
    return list(ticket.messages.filter(metadata__kind="pending_reminder"))


@pytest.mark.parametrize(
    ("language", "words"), [("en", "still waiting for your answer"), ("zh-hans", "仍在等待")]
)
def test_a_quiet_customer_is_reminded_once_in_their_language_then_the_ticket_is_solved(
    pending, customer, clock, language, words
):
    customer.language = language
    customer.save()
    clock.advance(days=2)
    assert run_housekeeping()["reminded"] == 0
    clock.advance(days=1, minutes=1)
    assert run_housekeeping()["reminded"] == 1
    assert run_housekeeping()["reminded"] == 0
    (reminder,) = reminders(pending)
    assert words in reminder.text
    assert reminder.direction == Message.Direction.OUTBOUND
    assert reminder.author is None
    assert pending.events.filter(kind=TicketEvent.Kind.REMINDED).count() == 1

    clock.advance(days=3, hours=23)
    assert run_housekeeping()["auto_solved"] == 0
    clock.advance(hours=1)
    assert run_housekeeping()["auto_solved"] == 1
    pending.refresh_from_db()
    assert pending.status == Ticket.Status.SOLVED
    solved = pending.events.filter(kind=TicketEvent.Kind.STATUS).last()
    assert (solved.actor, solved.data["by"], solved.data["reason"]) == (
        None,
        "auto",
        "pending_timeout",
    )
    summaries = {entry.event.pk: entry.summary for entry in ticket_history(pending)}
    assert summaries[solved.pk].endswith(", automatically after 7 days")


def test_a_customer_who_answers_after_the_reminder_keeps_the_ticket_open(pending, clock):
    clock.advance(days=3, minutes=1)
    run_housekeeping()
    clock.advance(hours=1)
    actions.receive_many(
        [factories.email(text="Here is the card", ticket_reference=pending.reference)]
    )
    clock.advance(days=10)
    counts = run_housekeeping()
    assert counts["auto_solved"] == 0
    pending.refresh_from_db()
    assert pending.status == Ticket.Status.OPEN


def test_a_solved_ticket_is_closed_by_the_system_after_the_set_days(customer, agent, clock):
    ticket = open_ticket(customer)
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    clock.advance(days=3, hours=23)
    assert run_housekeeping()["closed"] == 0
    clock.advance(hours=1)
    assert run_housekeeping()["closed"] == 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    closed = ticket.events.filter(kind=TicketEvent.Kind.STATUS).last()
    assert (closed.actor, closed.data["from"], closed.data["by"]) == (None, "solved", "auto")


def test_closing_costs_the_same_queries_however_many_tickets(customer, agent, clock):
    def solve(count):
        for _ in range(count):
            ticket = open_ticket(customer)
            actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
        clock.advance(days=5)

    solve(3)
    with CaptureQueriesContext(connection) as few:
        assert run_housekeeping()["closed"] == 3
    solve(30)
    with CaptureQueriesContext(connection) as many:
        assert run_housekeeping()["closed"] == 30
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_command_runs_one_pass_and_prints_the_counts(customer, agent, clock):
    ticket = open_ticket(customer)
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    clock.advance(days=5)
    out = StringIO()
    call_command("housekeeping", stdout=out)
    assert "closed: 1" in out.getvalue()


# --- the worker -----------------------------------------------------------------------------


def test_the_worker_runs_housekeeping_beside_the_recovery():
    assert [job.name for job in periodic_jobs()] == [
        "recovering abandoned deliveries",
        "housekeeping",
    ]


@pytest.mark.django_db(transaction=True)  # the loop closes its connections as it goes
def test_a_failing_job_is_logged_and_run_again_the_worker_goes_on(caplog):
    stop = threading.Event()
    calls = []

    def flaky():
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("database away")
        stop.set()
        return {"closed": 1}

    with caplog.at_level(logging.WARNING):
        run_periodic(stop, [PeriodicJob("housekeeping", flaky, interval=0)])
    assert calls == [0, 1]
    assert "housekeeping failed; trying again later" in caplog.text
    assert "housekeeping: {'closed': 1}" in caplog.text


# --- two workers at once (PostgreSQL) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_two_workers_escalating_at_once_alert_each_ticket_once(customer):
    tickets = [open_ticket(customer) for _ in range(20)]
    now = max(ticket.first_response_due for ticket in tickets) + timedelta(minutes=1)
    results = race(4, lambda i: escalate(now))
    assert sum(result["sla_breaches"] for result in results) == 20
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.SLA_BREACHED).count() == 20
    assert sum(result["sla_breaches"] for result in race(4, lambda i: escalate(now))) == 0
