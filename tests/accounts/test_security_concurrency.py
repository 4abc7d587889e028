"""Two agents unlocking the same wallet at the same instant, on real PostgreSQL
connections: exactly one change and one audit row; the other is told it is not locked."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.actions.security import freeze_wallet, unlock_wallet
from accounts.models import AccountEvent, WalletAccount
from tests.accounts.security_helpers import lock, strong_verification
from tests.conftest import race
from tickets.actions import open_ticket

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_two_agents_unlocking_at_once_make_one_change(customer, agent, other_agent):
    wallet = customer.wallets.get()
    lock(wallet)
    ticket = open_ticket(customer=customer, channel="phone", subject="locked", acting_user=agent)
    agents = [agent, other_agent]
    verifications = [strong_verification(ticket, wallet, a) for a in agents]

    results = race(
        2,
        lambda i: unlock_wallet(
            wallet,
            acting_user=agents[i],
            verification=verifications[i],
            ticket=ticket,
            stepped_up_at=timezone.now(),
        ),
        returning=(ValidationError,),
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
    verification = strong_verification(ticket, wallet, agent)

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

    race(2, work, returning=(ValidationError,))
    wallet.refresh_from_db()
    # Whatever the order, the freeze is the last word: it is never undone by the unlock.
    assert wallet.status == WalletAccount.Status.FROZEN
    assert AccountEvent.objects.filter(action=AccountEvent.Action.FREEZE).count() == 1
