"""Credentials for the API's tests: integration keys with chosen scopes, the app's customer
token, and the agents' verified sessions (tests/conftest.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.app_identity import AUDIENCE_API, sign
from api.actions import create_key


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """The throttles count in the cache by key id; ids start again with each test's
    database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def key_admin(db):
    """Whoever makes keys: a superuser (the admin's "admin")."""
    return get_user_model().objects.create_superuser("keymaker", password="unused-in-tests")


@pytest.fixture
def make_key(key_admin):
    """make_key(*scopes, name=...) -> (ApiKey, its text)."""
    made = iter(range(1000))

    def make(*scopes, name=None):
        return create_key(
            acting_user=key_admin, name=name or f"integration {next(made)}", scopes=scopes
        )

    return make


def key_client(text: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


@pytest.fixture
def client_with(make_key):
    """client_with(*scopes) -> an APIClient carrying a new key with those scopes."""

    def make(*scopes):
        _key, text = make_key(*scopes)
        return key_client(text)

    return make


def customer_client(wallet) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_CUSTOMER_TOKEN=sign(wallet, audience=AUDIENCE_API))
    return client
