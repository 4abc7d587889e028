"""Helpers for the self-service pages' tests: clients with CSRF enforced, posting with the
token as a browser does, and signing in through the app."""

import re

from django.test import Client, TestCase

from accounts.app_identity import AUDIENCE_ACCOUNT, sign

SIGN_IN_URL = "/account/sign-in/"


def csrf_client(address: str = "10.0.0.1") -> Client:
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=address)


def post(client: Client, url: str, data: dict, **extra):
    if "csrftoken" not in client.cookies:
        client.get(url)
    token = client.cookies["csrftoken"].value
    # The test's transaction never commits: run what the request queues after its commit
    # (codes, notices) as production would.
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(url, {**data, "csrfmiddlewaretoken": token}, **extra)


def page_text(response) -> str:
    """The visible page, without the per-session CSRF tokens."""
    html = response.content.decode()
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def sign_in_with_app(client: Client, wallet, *, token: str | None = None):
    """What the sign-in page's script does with ``#app_token=``: post it."""
    token = sign(wallet, audience=AUDIENCE_ACCOUNT) if token is None else token
    return post(client, SIGN_IN_URL, {"app_token": token})
