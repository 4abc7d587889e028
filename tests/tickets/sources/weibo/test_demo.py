"""`make run` (DJANGO_DEBUG=true) answers the demo's Weibo ticket with the development
backend: the reply is recorded and shown as sent in development, never failed."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from tickets.models import Message

pytestmark = pytest.mark.django_db


def test_debug_defaults_to_the_development_backend():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "mywallet_support.settings",
    }
    env.pop("WEIBO_SEND", None)
    script = (
        "import django; django.setup(); "
        "from django.conf import settings; print(settings.WEIBO_SEND)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "development"


def test_the_demo_weibo_ticket_is_answered_without_a_failure(
    settings, tasks_at_once, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.WEIBO_SEND = "development"
    settings.WEIBO_API_BASE = "http://127.0.0.1:9"  # nothing may leave
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())
    answers = Message.objects.filter(channel="weibo", direction=Message.Direction.OUTBOUND)
    assert answers.exists()
    assert set(answers.values_list("delivery_status", flat=True)) == {Message.Delivery.SENT}
    assert all(message.metadata.get("sent_in_development") for message in answers)
