"""The satisfaction survey of email tickets (issue 14, point 5): solving an email ticket
mails the customer a signed link, in their language; /feedback/<token>/ takes one rating
per solution, in both languages, and only for the ticket its token was signed for: a
tampered, expired or borrowed token, or a replayed form, opens or changes nothing."""

import re
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client, TestCase

from accounts.models import Customer
from tests.tickets import factories
from tests.tickets.sources.email.smtp_server import running_smtp_server
from tickets import actions, survey
from tickets.actions.survey import SURVEY_NOTICE
from tickets.models import Ticket, TicketEvent

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

LINK = re.compile(r"https://support\.example\.test(/feedback/([^/\s]+)/)")


@pytest.fixture
def ticket(customer, agent):
    ticket = actions.receive(factories.email("li.wei@example.com", text="Where is my refund?"))
    return ticket.ticket


@pytest.fixture(autouse=True)
def smtp_server(settings):
    with running_smtp_server() as server:
        settings.MAILERS = {"default": server.mailer()}
        yield server


def last_mail(server) -> str:
    received = server.messages[-1]
    assert received.rcpt_tos == ("li.wei@example.com",)
    return received.parsed().get_body(("plain",)).get_content()


def solve(ticket, agent, server) -> str:
    """Solve ``ticket``; the survey's path from the mail the customer got."""
    before = len(server.messages)
    with TestCase.captureOnCommitCallbacks(execute=True):
        actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    assert len(server.messages) == before + 1
    return LINK.search(last_mail(server)).group(1)


def rate(client: Client, path: str, score, comment="", **headers):
    client.get(path)  # the CSRF cookie, as a browser gets it
    token = client.cookies["csrftoken"].value
    data = {"score": score, "comment": comment, "csrfmiddlewaretoken": token}
    return client.post(path, data, headers=headers)


def test_solving_an_email_ticket_mails_the_survey_link_in_the_customers_language(
    customer, ticket, agent, smtp_server
):
    path = solve(ticket, agent, smtp_server)
    body = last_mail(smtp_server)
    assert "已解决" in body and ticket.reference in body  # Li Wei reads Chinese
    html = smtp_server.messages[-1].parsed().get_body(("html",)).get_content()
    assert f'<a href="https://support.example.test{path}"' in html  # a link to click
    notice = ticket.messages.get(metadata__has_key=SURVEY_NOTICE)
    assert notice.author is None and notice.metadata["system"] is True
    assert survey.ticket_for(path.split("/")[2]) == ticket
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.SOLVED  # it stays solved

    customer.language = Customer.Language.ENGLISH
    customer.save()
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.OPEN)
    solve(Ticket.objects.get(pk=ticket.pk), agent, smtp_server)
    body = last_mail(smtp_server)
    assert "marked your request" in body and "Rate our help" in body


def test_a_chat_ticket_asks_in_the_chat_not_by_mail(customer, agent, smtp_server):
    ticket = actions.receive(factories.chat(text="hello")).ticket
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.SOLVED)
    assert not ticket.messages.filter(metadata__has_key=SURVEY_NOTICE).exists()
    assert not smtp_server.messages


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", ["Rate our help", "Very satisfied"]), ("zh-CN", ["评价我们的服务", "非常满意"])],
)
def test_the_page_asks_for_a_rating_in_both_languages(ticket, agent, language, words, smtp_server):
    path = solve(ticket, agent, smtp_server)
    response = Client().get(path, headers={"accept-language": language})
    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.reference in page and 'name="csrfmiddlewaretoken"' in page
    for word in words:
        assert word in page


def test_a_rating_is_recorded_with_its_time_and_in_the_history(
    ticket, agent, agent_client, smtp_server
):
    path = solve(ticket, agent, smtp_server)

    response = rate(Client(enforce_csrf_checks=True), path, 4, "Quick and kind")

    assert response.status_code == 200 and "Thank you for your rating" in response.text
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.satisfaction_score, ticket.satisfaction_comment) == (4, "Quick and kind")
    assert ticket.satisfaction_rated_at >= ticket.solved_at
    event = ticket.events.get(kind=TicketEvent.Kind.RATED)
    assert event.data == {"score": 4, "channel": "email", "comment": "Quick and kind"}
    assert event.actor is None
    page = agent_client.get(f"/admin/tickets/ticket/{ticket.pk}/change/").content.decode()
    assert "4/5" in page


def test_a_second_rating_of_the_same_solution_is_refused_and_the_first_stands(
    ticket, agent, smtp_server
):
    path = solve(ticket, agent, smtp_server)
    assert rate(Client(enforce_csrf_checks=True), path, 5).status_code == 200

    replay = rate(Client(enforce_csrf_checks=True), path, 1, "changed my mind")

    assert replay.status_code == 409 and "already rated" in replay.text
    assert Ticket.objects.get(pk=ticket.pk).satisfaction_score == 5
    assert Client().get(path).status_code == 409

    # Reopened and solved again: the customer is asked again, and may answer.
    actions.change_status(ticket, acting_user=agent, status=Ticket.Status.OPEN)
    again = solve(Ticket.objects.get(pk=ticket.pk), agent, smtp_server)
    assert rate(Client(enforce_csrf_checks=True), again, 2).status_code == 200
    assert Ticket.objects.get(pk=ticket.pk).satisfaction_score == 2


def test_the_post_needs_the_csrf_token_and_a_rating(ticket, agent, smtp_server):
    path = solve(ticket, agent, smtp_server)
    client = Client(enforce_csrf_checks=True)
    assert client.post(path, {"score": 5}).status_code == 403
    for score in ("", "6", "0", "five"):
        response = rate(client, path, score)
        assert response.status_code == 400
    assert Ticket.objects.get(pk=ticket.pk).satisfaction_score is None


def test_a_tampered_or_foreign_token_opens_nothing(ticket, other_customer, agent, smtp_server):
    path = solve(ticket, agent, smtp_server)
    token = path.split("/")[2]
    theirs = actions.receive(factories.email("anna@example.org", text="Hi")).ticket
    forged = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature changed
        signing.dumps({"t": theirs.pk, "c": ticket.customer_id}, salt=survey.SALT),  # borrowed
        signing.dumps({"t": ticket.pk, "c": ticket.customer_id}, salt="another.feature"),
        signing.dumps([ticket.pk], salt=survey.SALT),
        "nonsense",
    ]
    for bad in forged:
        response = Client().get(f"/feedback/{bad}/", headers={"accept-language": "en"})
        assert response.status_code == 404, bad
        assert "not valid" in response.text
        assert rate(Client(), f"/feedback/{bad}/", 1).status_code == 404
    assert not Ticket.objects.filter(satisfaction_score__isnull=False).exists()


def test_a_token_works_only_for_the_ticket_and_the_customer_it_was_signed_for(
    ticket, other_customer, agent, smtp_server
):
    path = solve(ticket, agent, smtp_server)
    # The ticket moved to another customer (a merge): the old link no longer opens it.
    Ticket.objects.filter(pk=ticket.pk).update(customer=other_customer)
    assert Client().get(path).status_code == 404


def test_an_expired_link_says_so(ticket, agent, monkeypatch, settings, smtp_server):
    settings.SURVEY_LINK_DAYS = 14
    issued = time.time() - timedelta(days=15).total_seconds()
    monkeypatch.setattr(signing.time, "time", lambda: issued)
    token = survey.token_for(ticket)
    monkeypatch.undo()

    response = Client().get(f"/feedback/{token}/", headers={"accept-language": "zh-CN"})

    assert response.status_code == 410 and "已过期" in response.text
    assert rate(Client(), f"/feedback/{token}/", 5).status_code == 410
