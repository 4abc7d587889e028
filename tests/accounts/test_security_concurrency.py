"""Two agents unlocking the same wallet at the same instant, on real PostgreSQL
connections: exactly one change and one audit row; the other is told it is not locked."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import timezone

from accounts.actions.security import freeze_wallet, unlock_wallet
from accounts.models import AccountEvent, Verification, WalletAccount
from tests.accounts.security_helpers import lock
from tickets.actions import open_ticket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")


def _race(count: int, work):
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait(timeout=10)
            return work(i)
        except ValidationError as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _strong(ticket, wallet, agent) -> Verification:
    return Verification.objects.create(
        ticket=ticket,
        account=wallet,
        agent=agent,
        strength=Verification.Strength.STRONG,
        checks_passed=["phone", "code_phone"],
        expires_at=timezone.now() + timedelta(minutes=30),
    )


def test_two_agents_unlocking_at_once_make_one_change(customer, agent, other_agent):
    wallet = customer.wallets.get()
    lock(wallet)
    ticket = open_ticket(customer=customer, channel="phone", subject="locked", acting_user=agent)
    agents = [agent, other_agent]
    verifications = [_strong(ticket, wallet, a) for a in agents]

    results = _race(
        2,
        lambda i: unlock_wallet(
            wallet,
            acting_user=agents[i],
            verification=verifications[i],
            ticket=ticket,
            stepped_up_at=timezone.now(),
        ),
    )
    unlocked = [r for r in results if isinstance(r, WalletAccount)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(unlocked) == 1 and len(refused) == 1
    assert "not locked" in refused[0].messages[0]
    assert AccountEvent.objects.filter(action=AccountEvent.Action.UNLOCK).count() == 1
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE


def test_a_freeze_racing_an_unlock_leaves_the_wallet_frozen_or_refuses_the_unlock(
    customer, agent, other_agent
):
    wallet = customer.wallets.get()
    lock(wallet)
    ticket = open_ticket(customer=customer, channel="phone", subject="locked", acting_user=agent)
    verification = _strong(ticket, wallet, agent)

    def work(i):
        if i == 0:
            return unlock_wallet(
                wallet,
                acting_user=agent,
                verification=verification,
                ticket=ticket,
                stepped_up_at=timezone.now(),
            )
        return freeze_wallet(wallet, acting_user=other_agent, reason="fraud", ticket=ticket)

    _race(2, work)
    wallet.refresh_from_db()
    # Whatever the order, the freeze is the last word: it is never undone by the unlock.
    assert wallet.status == WalletAccount.Status.FROZEN
    assert AccountEvent.objects.filter(action=AccountEvent.Action.FREEZE).count() == 1
