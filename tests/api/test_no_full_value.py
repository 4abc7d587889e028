"""No API answer holds a full value a customer wrote (issue 16, point 3): the tickets a
key reads, and their messages, show the masked forms only (the mail of
tests/workspace/test_no_full_value.py)."""

import pytest

from tests.workspace.test_no_full_value import assert_masked_only, message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("tasks_at_once")]

__all__ = ["message"]


def test_no_api_answer_shows_a_full_value(message, client_with):
    client = client_with("tickets:read")
    ticket = message.ticket
    for url in [
        "/api/tickets/",
        f"/api/tickets/{ticket.pk}/",
        f"/api/tickets/{ticket.pk}/messages/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_masked_only(response.content.decode(), url)
    messages = client.get(f"/api/tickets/{ticket.pk}/messages/").json()["results"]
    assert "622202*********0123" in messages[0]["text"]
    assert messages[0]["subject"] == "Card 622202*********0123 blocked"
