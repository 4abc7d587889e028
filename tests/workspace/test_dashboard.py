"""The admin home's dashboard: the figures under both languages, by role, and a query
count that does not grow with the tickets."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_smoke(agent_client, customer):
    response = agent_client.get(reverse("admin:index"))
    assert response.status_code == 200
    print(response.content.decode()[-6000:])
