"""manage.py rotate_encryption_keys (issue 16): every encrypted column re-encrypted with
the first key, so the old key can go."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.models import WalletAccount
from tests.tickets.test_personal_data_at_rest import by_email
from tickets.models import InboundMessage, SensitiveValue

pytestmark = pytest.mark.django_db


def rotate(batch_size: int = 2) -> str:
    out = io.StringIO()
    call_command("rotate_encryption_keys", batch_size=batch_size, stdout=out)
    return out.getvalue()


def everything_encrypted() -> tuple:
    return (
        list(WalletAccount.objects.order_by("pk").values_list("national_id", flat=True)),
        list(SensitiveValue.objects.order_by("pk").values_list("value", flat=True)),
        [bytes(raw) for raw in InboundMessage.objects.order_by("pk").values_list("raw", flat=True)],
    )


def test_after_rotating_the_data_decrypts_with_the_new_key_alone(settings, customer):
    by_email()
    before = everything_encrypted()
    old, new = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    report = rotate()
    assert "accounts.WalletAccount.national_id: 1 value(s) re-encrypted" in report
    assert "tickets.SensitiveValue.value: 5 value(s) re-encrypted" in report
    assert "tickets.InboundMessage.raw: 1 value(s) re-encrypted" in report
    assert "accounts.ApprovalRequest.new_value: 0 value(s) re-encrypted" in report
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert everything_encrypted() == before
    settings.FIELD_ENCRYPTION_KEYS = [old]
    with pytest.raises(ImproperlyConfigured):
        everything_encrypted()


def test_a_second_run_rewrites_nothing(settings, customer):
    by_email()
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    assert "tickets.SensitiveValue.value: 5 value(s) re-encrypted" in rotate()
    again = rotate().splitlines()
    assert len(again) == 4  # national ID, approvals' new value, message values, raw payloads
    assert all(line.endswith(": 0 value(s) re-encrypted") for line in again), again
