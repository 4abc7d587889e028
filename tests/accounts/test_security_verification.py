"""Identity verification on a ticket: the caller's answers against the wallet (weak: the
strong factor is the customer's own device, tests/accounts/test_device_confirmation.py),
the answers kept only as a digest."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.actions.security import verify_identity
from accounts.models import AccountEvent, Verification
from accounts.verification import (
    Answers,
    answers_digest,
    merchant_matches,
    normalise_answers,
    validate_national_id,
)
from tests.accounts.security_helpers import (
    EMAIL,
    NEW_ID,
    PHONE,
    ticket_for,
    wallet_with_payment,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(customer):
    return wallet_with_payment(customer)


@pytest.fixture
def ticket(customer):
    return ticket_for(customer)


def test_knowledge_alone_is_weak(wallet, ticket, agent):
    verification = verify_identity(
        ticket,
        wallet,
        acting_user=agent,
        answers={"phone": PHONE, "email": EMAIL},
    )
    assert verification.strength == Verification.Strength.WEAK


def test_a_code_is_no_answer_an_agent_can_take(wallet, ticket, agent):
    # Codes are never read out: a "code" among the answers is not checked, let alone strong.
    verification = verify_identity(
        ticket, wallet, acting_user=agent, answers={"phone": PHONE, "code": "123456"}
    )
    assert verification.strength == Verification.Strength.WEAK
    assert verification.checks_passed == ["phone"]


def test_any_wrong_answer_fails_the_verification(wallet, ticket, agent):
    verification = verify_identity(
        ticket, wallet, acting_user=agent, answers={"phone": PHONE, "email": "someone@else.com"}
    )
    assert verification.strength == Verification.Strength.NONE
    assert verification.checks_failed == ["email"]
    event = AccountEvent.objects.get(action=AccountEvent.Action.VERIFICATION_FAILED)
    assert event.ticket == ticket
    assert event.actor == agent
    assert event.verification["id"] == verification.pk


def test_a_recent_transaction_matches_with_tolerance(wallet, ticket, agent):
    two_days_ago = timezone.localdate() - timedelta(days=2)
    answers = {
        "transaction_amount": "260",  # 268.00 within 10 %
        "transaction_date": (two_days_ago + timedelta(days=1)).isoformat(),
        "transaction_merchant": "starbucks",
    }
    verification = verify_identity(ticket, wallet, acting_user=agent, answers=answers)
    assert verification.checks_passed == ["transaction"]


@pytest.mark.parametrize(
    "answers",
    [
        {"transaction_amount": "150"},
        {"transaction_amount": "268", "transaction_merchant": "McDonald's"},
        {"transaction_amount": "268", "transaction_date": "2001-01-01"},
    ],
)
def test_a_transaction_that_does_not_match_fails(wallet, ticket, agent, answers):
    verification = verify_identity(ticket, wallet, acting_user=agent, answers=answers)
    assert verification.checks_failed == ["transaction"]


def test_a_transaction_older_than_the_window_does_not_count(wallet, ticket, agent, settings):
    settings.VERIFICATION_TRANSACTION_DAYS = 1
    verification = verify_identity(
        ticket, wallet, acting_user=agent, answers={"transaction_amount": "268"}
    )
    assert verification.checks_failed == ["transaction"]


def test_answers_are_kept_only_as_a_keyed_digest(wallet, ticket, agent):
    verification = verify_identity(
        ticket, wallet, acting_user=agent, answers={"phone": PHONE, "email": EMAIL}
    )
    stored = str(Verification.objects.filter(pk=verification.pk).values().get())
    stored += str(AccountEvent.objects.filter(ticket=ticket).values())
    assert PHONE not in stored and "13800138000" not in stored
    assert EMAIL not in stored
    assert verification.answers_digest == answers_digest(
        normalise_answers({"phone": PHONE, "email": EMAIL})
    )
    assert answers_digest(Answers(phone=PHONE)) != answers_digest(Answers(phone="+8613900139000"))


def test_a_wallet_of_another_customer_is_refused(wallet, other_customer, agent):
    other_ticket = ticket_for(other_customer, "anna@example.org")
    with pytest.raises(ValidationError):
        verify_identity(other_ticket, wallet, acting_user=agent, answers={"phone": PHONE})


def test_nothing_asked_is_no_verification(wallet, ticket, agent):
    with pytest.raises(ValidationError):
        verify_identity(ticket, wallet, acting_user=agent, answers={})
    assert not Verification.objects.exists()


def test_merchant_names_match_loosely():
    assert merchant_matches("starbucks", "Starbucks Coffee (Shanghai)")
    assert merchant_matches("星巴克", "星巴克咖啡")
    assert merchant_matches("Starbuck coffee", "Starbucks Coffee")
    assert not merchant_matches("KFC", "Starbucks Coffee")


def test_national_id_numbers_are_checked_by_their_check_digit():
    assert validate_national_id(NEW_ID.lower()) == NEW_ID
    for bad in ["11010519491231002", "110105194912310021", "110105194913310023", "ABC"]:
        with pytest.raises(ValidationError):
            validate_national_id(bad)
    assert normalise_answers({"transaction_date": "2026-02-30"}).day is None
    assert normalise_answers({"transaction_date": date(2026, 1, 2)}).day == date(2026, 1, 2)
