"""Who is who in the live chat, over real sockets (daphne, SQLite, the `websockets` client).

A guest who types Li Wei's phone is only claiming to be Li Wei: every frame the agent's
console receives (the chat, its history, the waiting list) carries the claim, masked, and
nothing of Li Wei's wallet, payments, cards or tickets. After an agent's strong verification
of Li Wei's wallet on the ticket, or when the MY Wallet app's token opened the chat, the
console shows them.
"""

import asyncio
import json

import pytest

from .servers import Peer, agent_login, create_staff, migrated_database, running_daphne
from .servers import start_customer_chat as start_chat
from .test_chat_conversation import CHAT_ENV, run, say, shell

pytestmark = pytest.mark.e2e

STAFF = ["claims1", "claims2"]

# Li Wei, with a wallet, a failed payment and an earlier ticket: what a claim must
# never reveal. Prints what to look for in the frames, and an app token for the chat.
_LI_WEI = """
import json
from decimal import Decimal
from django.utils import timezone
from accounts.app_identity import AUDIENCE_CHAT, sign
from accounts.models import Customer, CustomerIdentity, Transaction, WalletAccount
from tickets import actions
customer = Customer.objects.create(name="Li Wei")
CustomerIdentity.objects.create(customer=customer, kind="phone", value="+8613800138000")
wallet = WalletAccount.objects.create(customer=customer, number="MW6200000777",
    registered_phone="+8613800138000", balance=Decimal("7351.25"))
Transaction.objects.create(account=wallet, reference="TXN-SECRET-1", amount=Decimal("88.00"),
    merchant="Secret Metro Cafe", status="failed", failure_reason="wrong_password",
    occurred_at=timezone.now())
earlier = actions.open_ticket(customer=customer, channel="email", subject="Card question",
    acting_user=None)
print(json.dumps({"wallet": wallet.pk, "secrets": ["7351.25", "TXN-SECRET-1",
    "Secret Metro Cafe", earlier.reference, wallet.number],
    "token": sign(wallet, audience=AUDIENCE_CHAT)}))
"""

_LINK = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from accounts.models import Verification, WalletAccount
from chat.models import Conversation
from tickets import actions
ticket = Conversation.objects.get(pk={conversation}).ticket
agent = get_user_model().objects.get(username={agent!r})
verification = Verification.objects.create(ticket=ticket, agent=agent,
    account=WalletAccount.objects.get(pk={wallet}), strength="strong",
    checks_passed=["phone", "code_phone"], expires_at=timezone.now() + timedelta(minutes=30))
actions.link_claimed_customer(ticket, acting_user=agent, verification=verification)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with migrated_database(tmp_path_factory.mktemp("chat-identity"), **CHAT_ENV) as env:
        create_staff(env, *STAFF)
        with running_daphne(env=env) as server:
            yield server


@pytest.fixture(scope="module")
def li_wei(server):
    return json.loads(shell(server.env, _LI_WEI).splitlines()[-1])


def leaked(frames: list[dict], secrets: list[str]) -> list[str]:
    text = json.dumps(frames, ensure_ascii=False)
    return [secret for secret in secrets if secret in text]


def test_a_claimed_phone_shows_nothing_of_the_customer_until_verified(server, li_wei):
    agent = STAFF[0]

    async def scenario():
        session = agent_login(server, agent)
        console = await Peer.open(server, "/ws/agent/", session)
        await console.expect(lambda f: f["type"] == "hello")
        await console.send({"type": "presence", "status": "online"})
        browser, started = start_chat(server, name="Li", contact="138 0013 8000")
        conversation = started["conversation"]
        customer = await Peer.open(server, "/ws/chat/", browser)
        await customer.expect(lambda f: f["type"] == "status")
        await say(customer, "我的余额是多少？")
        await console.send({"type": "accept", "conversation": conversation})
        chat = await console.expect(lambda f: f["type"] == "chat")
        await console.send({"type": "resume", "conversation": conversation, "after": 0})
        await console.expect(lambda f: f["type"] == "message" and f["text"] == "我的余额是多少？")
        await console.quiet(0.3)
        assert chat["claim"]["name"] == "Li Wei" and chat["verified_by_app"] is False
        assert chat["claim"]["contact"] and "13800138000" not in chat["claim"]["contact"]
        assert chat["customer"]["wallets"] == [] and chat["customer"]["earlier_tickets"] == []
        assert leaked(console.frames, li_wei["secrets"]) == []
        await console.close()

        # The agent verifies the claimed wallet strongly on the ticket: the ticket is Li
        # Wei's, and the console (the same session, reconnected) shows their wallet.
        link = _LINK.format(conversation=conversation, agent=agent, wallet=li_wei["wallet"])
        await asyncio.to_thread(shell, server.env, link)
        console = await Peer.open(server, "/ws/agent/", session)
        chat = await console.expect(
            lambda f: f["type"] == "chat" and f["conversation"] == conversation
        )
        assert chat["claim"] is None
        [wallet] = chat["customer"]["wallets"]
        assert wallet["balance"] == "7351.25"
        assert [t["reference"] for t in wallet["recent_failed"]] == ["TXN-SECRET-1"]
        await console.close()
        await customer.close()

    run(scenario())


def test_a_chat_opened_by_the_app_is_verified_and_shows_the_wallet(server, li_wei):
    async def scenario():
        console = await Peer.open(server, "/ws/agent/", agent_login(server, STAFF[1]))
        await console.expect(lambda f: f["type"] == "hello")
        await console.send({"type": "presence", "status": "online"})
        _browser, started = start_chat(server, app_token=li_wei["token"])
        assert started["verified_by_app"] is True
        await console.send({"type": "accept", "conversation": started["conversation"]})
        chat = await console.expect(lambda f: f["type"] == "chat")
        assert chat["verified_by_app"] is True and chat["claim"] is None
        assert chat["customer"]["name"] == "Li Wei"
        assert chat["customer"]["wallets"][0]["balance"] == "7351.25"
        await console.close()

    run(scenario())
