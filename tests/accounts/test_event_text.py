"""Account events as sentences (accounts.event_text): one for every action, in the agent's
language and time zone, masked, never a dump of the row's JSON."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

from accounts.actions import add_identity
from accounts.event_text import SENTENCES, event_sentence
from accounts.models import AccountEvent
from accounts.selectors import audit_entries, events_for_customer

Action = AccountEvent.Action
EXPIRES = datetime(2026, 12, 3, 23, 52, 19, 423394, tzinfo=UTC)

# What each action's writer records (accounts.actions, codes, notify, wallet_events).
RECORDED = {
    Action.CUSTOMER_CREATED: ({"kind": "phone", "value": "+86 138****8000"}, {}),
    Action.IDENTITY_ADDED: ({"kind": "email", "value": "li.wei@example.com"}, {}),
    Action.LOCK: ({"lock_reason": "wrong_password", "failed_password_attempts": 5}, {}),
    Action.FREEZE: ({"previous_status": "active", "lock_reason": "risk"}, {}),
    Action.CONTACT_CHANGED: ({"kind": "phone", "old": "138****8000", "new": "139****9000"}, {}),
    Action.NATIONAL_ID_CHANGED: ({"old": "1101**********1234", "new": "1101**********5678"}, {}),
    Action.IDENTITY_VERIFIED: (
        {},
        {"passed": ["phone", "code_phone"], "failed": [], "expires_at": EXPIRES.isoformat()},
    ),
    Action.VERIFICATION_FAILED: ({}, {"passed": [], "failed": ["transaction"]}),
    Action.CODE_SENT: ({"channel": "sms", "purpose": "verify", "destination": "138****8000"}, {}),
    Action.CODE_FAILED: ({"device": 3, "purpose": "verify", "failures": 2}, {}),
    Action.PAYMENT_PASSWORD_FAILED: ({"attempts": 2, "limit": 5, "reference": "T-1"}, {}),
    Action.PAYMENT_FAILED: (
        {"amount": "23.00", "currency": "CNY", "merchant": "Hualian", "reason": "network"},
        {},
    ),
    Action.CUSTOMER_NOTIFIED: ({"event": "frozen", "sms": ["+86 138****8000"], "email": []}, {}),
    Action.PERSONAL_DATA_REVEALED: (
        {"kind": "card", "masked": "622202*********0123", "message": 5, "sensitive_value": 9},
        {},
    ),
}


def event(action, *, actor=None, actor_kind=AccountEvent.ActorKind.AGENT):
    details, verification = RECORDED.get(action, ({"request": 7, "kind": "unfreeze"}, {}))
    return AccountEvent(
        action=action,
        actor=actor,
        actor_kind=actor_kind,
        details=details,
        verification=verification,
        created_at=EXPIRES - timedelta(minutes=10),
    )


def test_every_action_has_a_sentence():
    assert set(SENTENCES) == set(Action)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("action", list(Action))
def test_every_action_reads_as_a_sentence_not_a_dump(action, language):
    with translation.override(language):
        sentence = event_sentence(event(action))
    assert sentence
    assert not re.search(r"[\[\]{}\"_]|%\(", sentence), sentence
    assert "2026-12-03T" not in sentence
    if language == "zh-hans":
        assert re.search(r"[\u4e00-\u9fff]", sentence), sentence


def test_a_verification_names_the_agent_the_checks_and_the_local_expiry(agent):
    agent.first_name, agent.last_name = "Fang", "Wang"
    verified = event(Action.IDENTITY_VERIFIED, actor=agent)
    with timezone.override("Asia/Shanghai"), translation.override("en"):
        assert event_sentence(verified) == (
            "Fang Wang verified the caller's identity by registered phone and code by SMS "
            "(expires 2026-12-04 07:52)"
        )
    with timezone.override("Europe/London"), translation.override("en"):
        assert event_sentence(verified).endswith("(expires 2026-12-03 23:52)")
    with timezone.override("Asia/Shanghai"), translation.override("zh-hans"):
        assert event_sentence(verified) == (
            "Fang Wang通过注册手机号和短信验证码核实了来电者身份（2026-12-04 07:52 过期）"
        )


def test_contacts_are_masked_even_when_the_writer_recorded_them_in_full():
    with translation.override("en"):
        sentence = event_sentence(event(Action.IDENTITY_ADDED))
    assert "li.wei@example.com" not in sentence
    assert "li***@example.com" in sentence


@pytest.mark.parametrize(
    ("sms", "email", "said"),
    [
        (
            ["+86 138****8000"],
            [],
            "Notice sent by SMS to +86 138****8000; no email address on file",
        ),
        (
            [],
            ["li***@example.com"],
            "Notice sent by email to li***@example.com; no phone number on file",
        ),
        (
            ["+86 138****8000"],
            ["li***@example.com"],
            "Notice sent by SMS to +86 138****8000 and by email to li***@example.com",
        ),
        ([], [], "Notice not sent: no phone number or email address on file"),
    ],
)
def test_a_notice_names_only_where_it_went(sms, email, said):
    notified = AccountEvent(
        action=Action.CUSTOMER_NOTIFIED,
        actor_kind=AccountEvent.ActorKind.SYSTEM,
        details={"event": "frozen", "sms": sms, "email": email},
    )
    with translation.override("en"):
        assert event_sentence(notified) == said


@pytest.mark.django_db
def test_the_audit_trail_reads_in_sentences(customer, agent):
    add_identity(customer, kind="email", value="wei@work.example", acting_user=agent)
    with translation.override("en"):
        [latest, *_] = audit_entries(events_for_customer(customer))
    assert latest.sentence == "agent added the contact Email w***@work.example"


def test_a_chinese_agent_is_named_family_name_first(django_user_model, db):
    agent = django_user_model(username="xiaoyu", first_name="小雨", last_name="周")
    with translation.override("zh-hans"):
        sentence = event_sentence(event(Action.UNLOCK, actor=agent))
    assert sentence == "周小雨解锁了钱包"


def test_a_raw_payloads_read_names_no_value(agent):
    read = event(Action.PERSONAL_DATA_REVEALED, actor=agent)
    read.details = {"raw_payload": 3, "channel": "email"}
    with translation.override("en"):
        assert event_sentence(read) == "agent revealed personal data written in a message"
