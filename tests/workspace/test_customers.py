"""Customers and wallets in the admin: masking, the append-only audit trail, merging."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.actions import record_event
from accounts.models import AccountEvent, Customer, CustomerIdentity, Transaction
from tests.conftest import verified_client
from tickets import actions
from tickets.inbound import Inbound

FULL_ID = "110101199003071234"
MASKED_ID = "1101**********1234"


@pytest.fixture
def superuser(db, django_user_model):
    user = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="correct horse battery staple"
    )
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return user


@pytest.fixture
def superuser_client(superuser):
    return verified_client(superuser)


@pytest.fixture
def event(customer):
    return record_event(
        customer=customer,
        account=customer.wallets.get(),
        action=AccountEvent.Action.LOCK,
        reason="Five wrong payment passwords",
    )


def url(name, *args):
    return reverse(f"admin:accounts_{name}", args=args)


# --- the audit trail ------------------------------------------------------------------------


def test_account_events_can_be_viewed(superuser_client, agent_client, event):
    for client in (superuser_client, agent_client):
        assert client.get(url("accountevent_changelist")).status_code == 200
        page = client.get(url("accountevent_change", event.pk))
        assert page.status_code == 200
        assert "Five wrong payment passwords" in page.text
        assert 'name="_save"' not in page.text


def test_account_events_cannot_be_added_even_by_a_superuser(superuser_client, customer):
    before = AccountEvent.objects.count()
    assert superuser_client.get(url("accountevent_add")).status_code == 403
    response = superuser_client.post(
        url("accountevent_add"),
        {"customer": customer.pk, "actor_kind": "agent", "action": "unlock", "reason": "forged"},
    )
    assert response.status_code == 403
    assert AccountEvent.objects.count() == before


def test_account_events_cannot_be_changed_even_by_a_superuser(superuser_client, event):
    response = superuser_client.post(
        url("accountevent_change", event.pk),
        {
            "customer": event.customer_id,
            "actor_kind": "system",
            "action": "unlock",
            "reason": "rewritten",
        },
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.action == AccountEvent.Action.LOCK
    assert event.reason == "Five wrong payment passwords"


def test_account_events_cannot_be_deleted_even_by_a_superuser(superuser_client, event):
    assert superuser_client.get(url("accountevent_delete", event.pk)).status_code == 403
    assert (
        superuser_client.post(url("accountevent_delete", event.pk), {"post": "yes"}).status_code
        == 403
    )
    response = superuser_client.post(
        url("accountevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert AccountEvent.objects.filter(pk=event.pk).exists()


def test_the_account_event_admin_refuses_every_write_for_a_superuser(superuser):
    model_admin = site._registry[AccountEvent]
    request = RequestFactory().get("/admin/")
    request.user = superuser
    assert superuser.has_perm("accounts.add_accountevent")  # the permission exists...
    assert not model_admin.has_add_permission(request)  # ...and the admin ignores it
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.has_view_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


# --- masking --------------------------------------------------------------------------------


def test_the_wallet_page_shows_the_national_id_masked_only(
    agent_client, supervisor_client, customer
):
    wallet = customer.wallets.get()
    for client in (agent_client, supervisor_client):
        page = client.get(url("walletaccount_change", wallet.pk))
        assert page.status_code == 200
        assert FULL_ID not in page.text
        assert MASKED_ID in page.text
        # The payment password's hash is never shown either, nor the full contacts.
        assert wallet.payment_password not in page.text
        assert "pbkdf2" not in page.text
        assert "+86 138****8000" in page.text
        assert "li***@example.com" in page.text
        assert "li.wei@example.com" not in page.text


def test_the_wallet_list_and_customer_page_do_not_leak_the_national_id(agent_client, customer):
    assert FULL_ID not in agent_client.get(url("walletaccount_changelist")).text
    page = agent_client.get(url("customer_change", customer.pk))
    assert page.status_code == 200
    assert FULL_ID not in page.text
    assert "li.wei@example.com" not in page.text
    assert "li***@example.com" in page.text
    assert "MW6200000001" in page.text


def test_the_wallet_page_cannot_be_edited_in_the_admin(supervisor_client, customer):
    wallet = customer.wallets.get()
    response = supervisor_client.post(
        url("walletaccount_change", wallet.pk), {"status": "active", "balance": "999999"}
    )
    assert response.status_code == 403
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1024.50")


def test_failed_transactions_are_marked_on_the_wallet_page(agent_client, customer):
    wallet = customer.wallets.get()
    Transaction.objects.create(
        account=wallet,
        reference="T-NET-1",
        amount=Decimal("88.00"),
        merchant="Metro",
        status=Transaction.Status.FAILED,
        failure_reason=Transaction.FailureReason.NETWORK,
        occurred_at=timezone.now() - timedelta(minutes=5),
    )
    page = agent_client.get(url("walletaccount_change", wallet.pk)).text
    assert 'class="mw-failed"' in page
    assert "mw-status-failed" in page
    listing = agent_client.get(url("transaction_changelist"), {"status__exact": "failed"})
    assert [t.reference for t in listing.context["cl"].result_list] == ["T-NET-1"]
    assert "mw-status-failed" in listing.text


def test_customers_are_found_by_a_phone_number_typed_any_way(
    agent_client, customer, other_customer
):
    response = agent_client.get(url("customer_changelist"), {"q": "138-0013-8000"})
    assert list(response.context["cl"].result_list) == [customer]
    response = agent_client.get(url("customer_changelist"), {"q": "ANNA@example.org"})
    assert list(response.context["cl"].result_list) == [other_customer]


def test_an_identity_added_in_the_admin_is_normalised_and_audited(agent_client, agent, customer):
    response = agent_client.post(
        url("customeridentity_add"),
        {"customer": customer.pk, "kind": "phone", "value": "139 1234 5678", "display_name": ""},
    )
    assert response.status_code == 302
    identity = CustomerIdentity.objects.get(kind="phone", value="+8613912345678")
    assert identity.customer == customer
    assert AccountEvent.objects.filter(
        customer=customer, action=AccountEvent.Action.IDENTITY_ADDED, actor=agent
    ).exists()


def test_an_identity_of_another_customer_is_refused(agent_client, customer, other_customer):
    response = agent_client.post(
        url("customeridentity_add"),
        {"customer": customer.pk, "kind": "email", "value": "Anna@Example.org"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert CustomerIdentity.objects.get(value="anna@example.org").customer == other_customer


# --- merging --------------------------------------------------------------------------------


def merge(client, *customers):
    return client.post(
        url("customer_changelist"),
        {"action": "merge_into_oldest", "_selected_action": [c.pk for c in customers]},
    )


def test_a_supervisor_merges_customers_into_the_oldest(
    supervisor_client, supervisor, customer, other_customer
):
    ticket = actions.receive(
        Inbound(channel="email", sender_kind="email", sender="anna@example.org", text="Hi")
    ).ticket
    assert customer.created_at <= other_customer.created_at
    response = merge(supervisor_client, other_customer, customer)
    assert response.status_code == 302

    other_customer.refresh_from_db()
    assert other_customer.merged_into == customer
    assert set(customer.identities.values_list("value", flat=True)) == {
        "li.wei@example.com",
        "+8613800138000",
        "anna@example.org",
        "+8613900139000",
    }
    assert customer.wallets.count() == 2
    ticket.refresh_from_db()
    assert ticket.customer == customer
    assert (
        AccountEvent.objects.filter(
            action=AccountEvent.Action.CUSTOMERS_MERGED, actor=supervisor
        ).count()
        == 2
    )


def test_an_agent_cannot_merge_customers(agent_client, customer, other_customer):
    response = merge(agent_client, customer, other_customer)
    assert response.status_code in (200, 302)
    other_customer.refresh_from_db()
    assert other_customer.merged_into is None
    assert other_customer.identities.count() == 2
    assert not AccountEvent.objects.filter(action=AccountEvent.Action.CUSTOMERS_MERGED).exists()


def offered_actions(client) -> set[str]:
    form = client.get(url("customer_changelist")).context["action_form"]
    if form is None:  # no action at all for this user
        return set()
    return {name for name, _label in form.fields["action"].choices}


def test_the_merge_action_is_offered_to_supervisors_only(supervisor_client, agent_client, customer):
    assert "merge_into_oldest" in offered_actions(supervisor_client)
    assert "merge_into_oldest" not in offered_actions(agent_client)


def test_merging_a_single_customer_does_nothing(supervisor_client, customer):
    response = merge(supervisor_client, customer)
    assert response.status_code == 302
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0
