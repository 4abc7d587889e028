import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.actions import add_identity
from accounts.models import AccountEvent, CustomerIdentity
from tests.tickets import factories
from tickets import actions
from tickets.actions import merge_customers
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db


def test_merging_moves_identities_wallets_and_tickets(customer, other_customer, supervisor):
    ticket = actions.receive(factories.email("anna@example.org")).ticket
    merge_customers(
        source=other_customer, target=customer, acting_user=supervisor, reason="same person"
    )
    other_customer.refresh_from_db()
    assert other_customer.merged_into == customer
    assert not other_customer.identities.exists()
    assert customer.identities.count() == 4
    assert customer.wallets.count() == 2
    ticket.refresh_from_db()
    assert ticket.customer == customer
    assert ticket.events.filter(kind=TicketEvent.Kind.CUSTOMER_MERGED).exists()
    event = AccountEvent.objects.get(customer=customer, action=AccountEvent.Action.CUSTOMERS_MERGED)
    assert event.actor == supervisor and event.reason == "same person"
    assert "anna@example.org" not in str(event.details)


def test_after_a_merge_new_mail_from_either_address_lands_on_the_survivor(
    customer, other_customer, supervisor
):
    merge_customers(source=other_customer, target=customer, acting_user=supervisor)
    received = actions.receive(factories.email("anna@example.org"))
    assert received.ticket.customer == customer


def test_only_supervisors_merge(customer, other_customer, agent):
    with pytest.raises(PermissionDenied):
        merge_customers(source=other_customer, target=customer, acting_user=agent)
    assert other_customer.identities.count() == 2


def test_a_customer_cannot_be_merged_twice_or_into_itself(customer, other_customer, supervisor):
    with pytest.raises(ValidationError):
        merge_customers(source=customer, target=customer, acting_user=supervisor)
    merge_customers(source=other_customer, target=customer, acting_user=supervisor)
    with pytest.raises(ValidationError):
        merge_customers(source=other_customer, target=customer, acting_user=supervisor)


def test_an_agent_adds_an_identity_normalised_and_audited(customer, agent):
    identity = add_identity(customer, kind="phone", value="139 1234 5678", acting_user=agent)
    assert identity.value == "+8613912345678"
    assert customer.events.filter(action=AccountEvent.Action.IDENTITY_ADDED, actor=agent).exists()


def test_an_identity_of_another_customer_is_not_stolen(customer, other_customer, agent):
    with pytest.raises(ValidationError, match="merge"):
        add_identity(customer, kind="email", value="Anna@Example.org", acting_user=agent)
    assert CustomerIdentity.objects.get(value="anna@example.org").customer == other_customer


def test_audit_rows_are_append_only(customer, agent):
    add_identity(customer, kind="wechat", value="oLi", acting_user=agent)
    event = customer.events.get()
    event.reason = "rewritten"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
