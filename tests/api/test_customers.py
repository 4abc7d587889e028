"""/api/customers/: the look-up by any contact, masked by default and in full only with
customers:personal, the national ID never, scopes, and flat query counts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Customer, CustomerIdentity, Transaction, WalletAccount
from tests.api.conftest import customer_client
from tests.conftest import make_customer, verified_client
from tickets import actions

pytestmark = pytest.mark.django_db

NATIONAL_ID = "110101199003071234"


def _ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.content
    return [found["id"] for found in answer.json()]


@pytest.mark.parametrize(
    "query",
    [
        "phone=138 0013 8000",
        "phone=%2B86 138-0013-8000",
        "phone=8613800138000",
        "phone=(138) 0013.8000",
        "email=LI.Wei@Example.com",
        "wallet=MW6200000001",
        "wallet= mw6200000001 ",
    ],
)
def test_a_customer_is_found_by_any_format_of_their_contacts(client_with, customer, query):
    answer = client_with("customers:read").get(f"/api/customers/lookup/?{query}")
    assert _ids(answer) == [customer.pk]


def test_wechat_and_weibo_ids_find_their_customer(client_with, customer, other_customer):
    CustomerIdentity.objects.create(customer=customer, kind="wechat", value="oWx-open-id-1")
    CustomerIdentity.objects.create(customer=other_customer, kind="weibo", value="5566778899")
    client = client_with("customers:read")
    assert _ids(client.get("/api/customers/lookup/?wechat=oWx-open-id-1")) == [customer.pk]
    assert _ids(client.get("/api/customers/lookup/?weibo=5566778899")) == [other_customer.pk]
    assert _ids(client.get("/api/customers/lookup/?wechat=nobody")) == []


def test_a_wallets_registered_phone_finds_its_owner(client_with, customer):
    wallet = customer.wallets.get()
    wallet.registered_phone = "+8613700137000"  # not one of the customer's identities
    wallet.save()
    answer = client_with("customers:read").get("/api/customers/lookup/?phone=137 0013 7000")
    assert _ids(answer) == [customer.pk]


def test_a_merged_customer_is_found_as_the_one_it_went_into(client_with, customer, supervisor):
    duplicate = make_customer("Li Wei (2)", "liwei@example.net", "+8613600136000", "MW6200000009")
    actions.merge_customers(source=duplicate, target=customer, acting_user=supervisor)
    client = client_with("customers:read")
    assert _ids(client.get("/api/customers/lookup/?email=liwei@example.net")) == [customer.pk]
    assert _ids(client.get("/api/customers/lookup/?wallet=MW6200000009")) == [customer.pk]


@pytest.mark.parametrize(
    "query", ["", "phone=138 0013 8000&email=li.wei@example.com", "phone=not a phone", "name=Li"]
)
def test_the_look_up_needs_exactly_one_valid_contact(client_with, customer, query):
    answer = client_with("customers:read").get(f"/api/customers/lookup/?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"


def test_contacts_are_masked_by_default_and_the_balance_withheld(client_with, customer):
    answer = client_with("customers:read").get(f"/api/customers/{customer.pk}/")
    assert answer.status_code == 200
    body = answer.json()
    assert {i["kind"]: i["value"] for i in body["identities"]} == {
        "email": "li***@example.com",
        "phone": "+86 138****8000",
    }
    (wallet,) = body["wallets"]
    assert wallet["number"] == "MW62****0001"
    assert wallet["registered_phone"] == "+86 138****8000"
    assert wallet["registered_email"] == "li***@example.com"
    assert wallet["balance"] is None
    assert "8613800138000" not in answer.content.decode()


def test_a_key_with_the_personal_scope_sees_contacts_in_full(client_with, customer):
    answer = client_with("customers:read", "customers:personal").get(
        f"/api/customers/{customer.pk}/"
    )
    body = answer.json()
    assert {i["value"] for i in body["identities"]} == {"li.wei@example.com", "+8613800138000"}
    (wallet,) = body["wallets"]
    assert wallet["number"] == "MW6200000001"
    assert wallet["registered_phone"] == "+8613800138000"
    assert Decimal(wallet["balance"]) == Decimal("1024.50")


def test_agents_see_contacts_masked(agent, customer):
    answer = verified_client(agent).get(f"/api/customers/{customer.pk}/")
    assert answer.status_code == 200
    assert answer.json()["wallets"][0]["registered_phone"] == "+86 138****8000"


@pytest.mark.parametrize("scopes", [("customers:read",), ("customers:read", "customers:personal")])
def test_the_national_id_is_never_in_any_answer(client_with, customer, scopes):
    client = client_with(*scopes)
    for path in (
        f"/api/customers/{customer.pk}/",
        "/api/customers/",
        "/api/customers/lookup/?wallet=MW6200000001",
    ):
        text = client.get(path).content.decode()
        assert "national" not in text
        assert NATIONAL_ID not in text
        assert NATIONAL_ID[-4:] not in text


def test_the_detail_shows_recent_transactions_and_open_tickets(client_with, customer, agent):
    wallet = customer.wallets.get()
    now = timezone.now()
    for n in range(12):
        Transaction.objects.create(
            account=wallet,
            reference=f"T{n:03}",
            amount=Decimal("9.90"),
            merchant="Coffee",
            status=Transaction.Status.FAILED if n == 11 else Transaction.Status.SUCCEEDED,
            failure_reason="network" if n == 11 else "",
            occurred_at=now - timedelta(minutes=12 - n),
        )
    open_one = actions.open_for_customer(customer=customer, subject="Refund", text="Where?")
    closed = actions.open_for_customer(customer=customer, subject="Old", text="Done")
    actions.change_status(closed.ticket, acting_user=agent, status="closed")
    body = client_with("customers:read").get(f"/api/customers/{customer.pk}/").json()
    references = [t["reference"] for t in body["recent_transactions"]]
    assert references == [f"T{n:03}" for n in range(11, 1, -1)]
    assert body["recent_transactions"][0]["failure_reason"] == "network"
    assert [t["id"] for t in body["open_tickets"]] == [open_one.ticket.pk]


def test_a_key_for_tickets_only_may_not_read_customers(client_with, customer):
    client = client_with("tickets:read", "tickets:write")
    for path in (f"/api/customers/{customer.pk}/", "/api/customers/", "/api/customers/lookup/"):
        answer = client.get(path)
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "permission_denied"


def test_customers_are_not_for_the_app_or_anonymous(client, customer):
    # The app's token is not a credential these endpoints read: as good as none.
    assert customer_client(customer.wallets.get()).get("/api/customers/").status_code == 401
    assert client.get("/api/customers/").status_code == 401


def test_the_list_filters_by_name_and_since(client_with, customer, other_customer):
    Customer.objects.filter(pk=other_customer.pk).update(
        updated_at=timezone.now() - timedelta(days=3)
    )
    client = client_with("customers:read")
    assert [c["id"] for c in client.get("/api/customers/?name=bERg").json()["results"]] == [
        other_customer.pk
    ]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    answer = client.get("/api/customers/", {"updated_since": since})
    assert [c["id"] for c in answer.json()["results"]] == [customer.pk]


def test_the_lists_query_count_does_not_grow_with_the_page(client_with):
    for n in range(12):
        made = make_customer(f"C{n}", f"c{n}@example.com", f"+86139{n:08}", f"MW63{n:08}")
        WalletAccount.objects.create(customer=made, number=f"MW64{n:08}")
    client = client_with("customers:read")
    client.get("/api/me/")  # the key's first use records it once
    counts = []
    for size in (2, 10):
        with CaptureQueriesContext(connection) as queries:
            answer = client.get(f"/api/customers/?page_size={size}")
        assert len(answer.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_malformed_since_is_refused(client_with):
    answer = client_with("customers:read").get("/api/customers/?updated_since=yesterday")
    assert answer.status_code == 400
    assert "updated_since" in answer.json()["error"]["fields"]
