"""Freeze at once, unfreeze by two people; the national ID number changed by two people
with a strong verification; a lost phone or email replaced through an agent."""

import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.actions.confirmation import confirm_new_contact
from accounts.actions.security import (
    approve_request,
    can_decide,
    change_contact_by_agent,
    freeze_wallet,
    reject_request,
    request_national_id_change,
    request_unfreeze,
    verify_identity,
)
from accounts.models import AccountEvent, ApprovalRequest, Verification, WalletAccount
from accounts.roles import SUPERVISORS
from tests.accounts.security_helpers import (
    NEW_ID,
    PHONE,
    answer,
    confirmed_on_device,
    last_sms_link,
    page_messages,
    security_url,
    strong_verification,
    ticket_for,
    ticket_url,
    wallet_with_payment,
)
from tests.conftest import make_staff, verified_client
from tickets.actions import wallets as desk

pytestmark = pytest.mark.django_db

OLD_ID = "110101199003071234"
MASKED_OLD = "1101" + "*" * 10 + "1234"
MASKED_NEW = "1101" + "*" * 10 + "002X"


@pytest.fixture
def wallet(customer):
    return wallet_with_payment(customer)


@pytest.fixture
def ticket(customer):
    return ticket_for(customer)


@pytest.fixture
def second_supervisor(django_user_model):
    return make_staff(django_user_model, "second_supervisor", SUPERVISORS)


def decide_url(request):
    return reverse("admin:accounts_approvalrequest_decide", args=[request.pk])


def request_page(request):
    return reverse("admin:accounts_approvalrequest_change", args=[request.pk])


def strong(ticket, wallet, agent, gateway=None, smtp=None, *, channel="phone"):
    return confirmed_on_device(ticket, wallet, agent, gateway=gateway, smtp=smtp, channel=channel)


def unfreeze_request(wallet, who, ticket, reason="ok"):
    """A frozen wallet's unfreeze request by ``who``, on their own strong verification."""
    return request_unfreeze(
        wallet,
        acting_user=who,
        reason=reason,
        ticket=ticket,
        verification=strong_verification(ticket, wallet, who),
    )


# --- freeze and unfreeze --------------------------------------------------------------------


def test_an_agent_freezes_from_the_ticket_page_at_once(agent_client, ticket, wallet):
    response = agent_client.post(
        security_url(ticket, "freeze"),
        {"account": wallet.pk, "reason": "Customer says the phone was stolen"},
        follow=True,
    )
    assert "Wallet MW6200000001 is frozen." in page_messages(response)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
    event = AccountEvent.objects.get(action=AccountEvent.Action.FREEZE)
    assert event.ticket == ticket
    assert event.reason == "Customer says the phone was stolen"


def test_freezing_needs_a_reason(agent_client, ticket, wallet):
    response = agent_client.post(
        security_url(ticket, "freeze"), {"account": wallet.pk, "reason": ""}, follow=True
    )
    assert any("Reason" in m for m in page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE


def test_the_wallet_admin_freezes_and_requests_unfreeze(agent, agent_client, wallet, ticket):
    strong_verification(ticket, wallet, agent)
    changelist = reverse("admin:accounts_walletaccount_changelist")
    selected = {"_selected_action": [wallet.pk], "reason": "fraud report"}
    response = agent_client.post(changelist, {**selected, "action": "freeze_selected"}, follow=True)
    assert "1 wallet(s) frozen." in page_messages(response)
    response = agent_client.post(
        changelist, {**selected, "action": "request_unfreeze_selected"}, follow=True
    )
    assert "Unfreeze requested for 1 wallet(s)." in page_messages(response)
    request = ApprovalRequest.objects.get()
    assert request.requested_by == agent
    assert request.kind == ApprovalRequest.Kind.UNFREEZE
    # On the agent's own verification, recorded on its ticket.
    assert (request.ticket, request.verification.agent) == (ticket, agent)


def test_a_wallet_from_another_customer_cannot_be_named_on_a_ticket(
    agent_client, ticket, other_customer
):
    other_wallet = other_customer.wallets.get()
    response = agent_client.post(
        security_url(ticket, "freeze"), {"account": other_wallet.pk, "reason": "x"}, follow=True
    )
    assert "This wallet does not belong to the ticket's customer." in page_messages(response)
    other_wallet.refresh_from_db()
    assert other_wallet.status == WalletAccount.Status.ACTIVE


def test_unfreeze_takes_a_request_and_a_supervisor_who_is_not_the_requester(
    agent, agent_client, supervisor, supervisor_client, second_supervisor, ticket, wallet
):
    freeze_wallet(wallet, acting_user=agent, reason="risk", ticket=ticket)
    strong_verification(ticket, wallet, agent)
    agent_client.post(
        security_url(ticket, "request-unfreeze"),
        {"account": wallet.pk, "reason": "customer confirmed the payments"},
    )
    request = ApprovalRequest.objects.get()
    assert AccountEvent.objects.filter(action=AccountEvent.Action.UNFREEZE_REQUESTED).exists()

    # The agent lacks the unfreeze permission: the action refuses.
    response = agent_client.post(decide_url(request), {"decision": "approve"}, follow=True)
    assert "You do not have permission to do this." in page_messages(response)

    # A supervisor approves; the wallet is active again.
    response = supervisor_client.post(decide_url(request), {"decision": "approve"}, follow=True)
    assert "Approved and applied." in page_messages(response)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE
    event = AccountEvent.objects.get(action=AccountEvent.Action.UNFREEZE)
    assert event.actor == supervisor
    assert event.verification["requested_by"] == agent.pk
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (ApprovalRequest.Status.APPROVED, supervisor)


def test_a_supervisor_cannot_approve_their_own_request(
    supervisor, supervisor_client, second_supervisor, ticket, wallet
):
    freeze_wallet(wallet, acting_user=supervisor, reason="risk")
    request = unfreeze_request(wallet, supervisor, ticket, reason="checked")
    page = supervisor_client.get(request_page(request)).content.decode()
    # The page says why, in the action's own words.
    assert "someone other than its requester" in page
    assert 'value="approve"' not in page
    response = supervisor_client.post(decide_url(request), {"decision": "approve"}, follow=True)
    assert "A request must be decided by someone other than its requester." in page_messages(
        response
    )
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
    with pytest.raises(PermissionDenied):
        approve_request(request, acting_user=supervisor)
    # The other supervisor sees the buttons and decides.
    page = verified_client(second_supervisor).get(request_page(request)).content.decode()
    assert 'value="approve"' in page
    approve_request(request, acting_user=second_supervisor)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE


def test_a_supervisors_own_request_shows_no_decision_anywhere_and_every_way_refuses(
    supervisor, supervisor_client, second_supervisor, ticket, wallet
):
    freeze_wallet(wallet, acting_user=supervisor, reason="risk")
    request = unfreeze_request(wallet, supervisor, ticket, reason="checked")
    assert not can_decide(request, supervisor)
    assert can_decide(request, second_supervisor)
    refused = "A request must be decided by someone other than its requester."

    # The request's page: no controls and no form to post, but the action's reason.
    page = supervisor_client.get(request_page(request)).content.decode()
    assert 'value="approve"' not in page and 'value="reject"' not in page
    assert decide_url(request) not in page
    assert refused in page
    # The ticket's panel lists it, without "you may decide" (the other supervisor sees it).
    panel = supervisor_client.get(ticket_url(ticket)).content.decode()
    assert request_page(request) in panel and "you may decide" not in panel
    other = verified_client(second_supervisor).get(ticket_url(ticket)).content.decode()
    assert "you may decide" in other

    # The URL and the bulk actions, either way.
    for decision in ("approve", "reject"):
        response = supervisor_client.post(decide_url(request), {"decision": decision}, follow=True)
        assert page_messages(response) == [refused]
    changelist = reverse("admin:accounts_approvalrequest_changelist")
    for action in ("approve_selected", "reject_selected"):
        response = supervisor_client.post(
            changelist, {"action": action, "_selected_action": [request.pk]}, follow=True
        )
        assert page_messages(response) == [f"{request}: {refused}"]
    request.refresh_from_db()
    assert (request.status, request.decided_by) == (ApprovalRequest.Status.PENDING, None)
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN


def test_a_rejected_request_changes_nothing_and_is_decided_once(
    agent, supervisor, second_supervisor, wallet, ticket
):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    request = unfreeze_request(wallet, agent, ticket, reason="please")
    reject_request(request, acting_user=supervisor, note="risk team says no")
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
    assert AccountEvent.objects.get(action=AccountEvent.Action.APPROVAL_REJECTED).reason == (
        "risk team says no"
    )
    with pytest.raises(ValidationError, match="already been decided"):
        approve_request(request, acting_user=second_supervisor)


def test_one_pending_unfreeze_request_per_wallet(agent, other_agent, wallet, ticket):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    unfreeze_request(wallet, agent, ticket, reason="one")
    with pytest.raises(ValidationError, match="already waiting"):
        unfreeze_request(wallet, other_agent, ticket, reason="two")


def test_an_active_wallet_needs_no_unfreeze(agent, wallet, ticket):
    with pytest.raises(ValidationError, match="not frozen"):
        unfreeze_request(wallet, agent, ticket, reason="?")


def test_the_approval_list_approves_in_bulk_but_never_ones_own(
    agent, supervisor, supervisor_client, other_customer, wallet, ticket
):
    other_wallet = other_customer.wallets.get()
    other_ticket = ticket_for(other_customer, "anna@example.org")
    for w, who, on in ((wallet, agent, ticket), (other_wallet, supervisor, other_ticket)):
        freeze_wallet(w, acting_user=who, reason="risk")
        unfreeze_request(w, who, on)
    response = supervisor_client.post(
        reverse("admin:accounts_approvalrequest_changelist"),
        {
            "action": "approve_selected",
            "_selected_action": list(ApprovalRequest.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    shown = " ".join(page_messages(response))
    assert "1 request(s) approved." in shown
    assert "someone other than its requester" in shown
    wallet.refresh_from_db()
    other_wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.ACTIVE
    assert other_wallet.status == WalletAccount.Status.FROZEN


# --- the national ID number -----------------------------------------------------------------


def test_the_national_id_changes_with_strong_verification_and_a_second_person(
    agent, agent_client, supervisor, supervisor_client, ticket, wallet, sms_gateway
):
    strong(ticket, wallet, agent, sms_gateway)
    response = agent_client.post(
        security_url(ticket, "national-id"),
        {"account": wallet.pk, "new_id": NEW_ID.lower(), "reason": "ID card reissued"},
        follow=True,
    )
    assert "another person must approve it" in " ".join(page_messages(response))
    request = ApprovalRequest.objects.get(kind=ApprovalRequest.Kind.NATIONAL_ID_CHANGE)
    wallet.refresh_from_db()
    assert wallet.national_id == OLD_ID  # nothing changes before the approval
    page = supervisor_client.get(request_page(request)).content.decode()
    assert f"{MASKED_OLD} → {MASKED_NEW}" in page
    assert NEW_ID not in page

    supervisor_client.post(decide_url(request), {"decision": "approve"})
    wallet.refresh_from_db()
    assert wallet.national_id == NEW_ID
    request.refresh_from_db()
    assert request.new_value == ""  # applied: no second copy kept
    changed = AccountEvent.objects.get(action=AccountEvent.Action.NATIONAL_ID_CHANGED)
    assert changed.details == {"old": MASKED_OLD, "new": MASKED_NEW}
    audit = json.dumps(list(AccountEvent.objects.values("details", "reason", "verification")))
    assert NEW_ID not in audit and OLD_ID not in audit


def test_the_national_id_change_needs_a_strong_verification(agent, ticket, wallet):
    weak = verify_identity(ticket, wallet, acting_user=agent, answers={"phone": PHONE})
    with pytest.raises(ValidationError, match="strong"):
        request_national_id_change(
            ticket, wallet, acting_user=agent, verification=weak, new_id=NEW_ID, reason="x"
        )
    assert not ApprovalRequest.objects.exists()


def test_the_new_national_id_must_be_valid(agent, ticket, wallet, sms_gateway):
    verification = strong(ticket, wallet, agent, sms_gateway)
    with pytest.raises(ValidationError, match="check digit"):
        request_national_id_change(
            ticket,
            wallet,
            acting_user=agent,
            verification=verification,
            new_id="110105194912310021",
            reason="x",
        )


def test_an_agent_cannot_approve_a_national_id_change(
    agent, other_agent, ticket, wallet, sms_gateway
):
    verification = strong(ticket, wallet, agent, sms_gateway)
    request = request_national_id_change(
        ticket, wallet, acting_user=agent, verification=verification, new_id=NEW_ID, reason="x"
    )
    with pytest.raises(PermissionDenied):
        approve_request(request, acting_user=other_agent)


# --- a lost contact -------------------------------------------------------------------------

NEW_PHONE = "+8613700137000"


def test_a_lost_phone_is_replaced_on_a_confirmation_from_the_email_and_one_from_the_new_phone(
    agent,
    agent_client,
    ticket,
    wallet,
    sms_gateway,
    smtp_server,
    django_capture_on_commit_callbacks,
):
    strong(ticket, wallet, agent, smtp=smtp_server, channel="email")
    response = agent_client.post(
        security_url(ticket, "contact-confirm"),
        {"account": wallet.pk, "kind": "phone", "new_value": "137 0013 7000"},
        follow=True,
    )
    assert "Confirmation link sent to the new contact +86 137****7000" in " ".join(
        page_messages(response)
    )
    # No code for anyone to read out: the new phone gets a link, and its owner says yes.
    [sms] = sms_gateway.to(NEW_PHONE)
    assert not re.search(r"(?<!-)\b\d{6}\b", sms.text)  # MW-000001 is the ticket
    answer(last_sms_link(sms_gateway, NEW_PHONE))
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(
            security_url(ticket, "contact-change"),
            {"account": wallet.pk, "kind": "phone", "new_value": NEW_PHONE, "reason": "lost"},
            follow=True,
        )
    assert "Registered contact changed" in " ".join(page_messages(response))
    wallet.refresh_from_db()
    assert wallet.registered_phone == NEW_PHONE
    assert wallet.customer.identities.filter(kind="phone", value=NEW_PHONE).exists()
    event = AccountEvent.objects.get(action=AccountEvent.Action.CONTACT_CHANGED)
    assert event.details["old"] == "+86 138****8000"
    assert event.details["new"] == "+86 137****7000"
    assert event.details["supervisor_override"] is False
    # Both told: the new phone, the old phone, and the email.
    assert len(sms_gateway.to(NEW_PHONE)) == 2
    assert sms_gateway.to(PHONE)
    notified = AccountEvent.objects.get(action=AccountEvent.Action.CUSTOMER_NOTIFIED)
    assert set(notified.details["sms"]) == {"+86 137****7000", "+86 138****8000"}
    # The new contact's confirmation is spent: it allows one change.
    with pytest.raises(ValidationError, match="not confirmed the new contact"):
        change_contact_by_agent(
            ticket,
            wallet,
            acting_user=agent,
            kind="phone",
            new_value="+8613811118000",
            verification=Verification.objects.filter(strength="strong").get(),
            reason="again",
        )


def change_phone(ticket, wallet, who, verification):
    return change_contact_by_agent(
        ticket,
        wallet,
        acting_user=who,
        kind="phone",
        new_value=NEW_PHONE,
        verification=verification,
        reason="lost",
    )


def test_a_confirmation_from_the_lost_contact_itself_is_not_enough(
    agent, ticket, wallet, sms_gateway
):
    verification = strong(ticket, wallet, agent, sms_gateway, channel="phone")
    confirm_new_contact(ticket, wallet, acting_user=agent, kind="phone", value=NEW_PHONE)
    answer(last_sms_link(sms_gateway, NEW_PHONE))
    with pytest.raises(ValidationError, match="registered email"):
        change_phone(ticket, wallet, agent, verification)
    wallet.refresh_from_db()
    assert wallet.registered_phone == PHONE


def test_the_new_contact_must_have_confirmed(agent, ticket, wallet, sms_gateway, smtp_server):
    verification = strong(ticket, wallet, agent, smtp=smtp_server, channel="email")
    with pytest.raises(ValidationError, match="not confirmed the new contact"):
        change_phone(ticket, wallet, agent, verification)
    confirm_new_contact(ticket, wallet, acting_user=agent, kind="phone", value=NEW_PHONE)
    answer(last_sms_link(sms_gateway, NEW_PHONE), confirmed=False)
    with pytest.raises(ValidationError, match="not confirmed the new contact"):
        change_phone(ticket, wallet, agent, verification)
    wallet.refresh_from_db()
    assert wallet.registered_phone == PHONE


def test_the_app_verification_serves_any_agent_for_a_contact_change(
    agent, ticket, wallet, sms_gateway
):
    verification = strong_verification(ticket, wallet, None)
    confirm_new_contact(ticket, wallet, acting_user=agent, kind="phone", value=NEW_PHONE)
    answer(last_sms_link(sms_gateway, NEW_PHONE))
    change_phone(ticket, wallet, agent, verification)
    wallet.refresh_from_db()
    assert wallet.registered_phone == NEW_PHONE


def test_a_colleagues_verification_allows_no_contact_change(
    agent, other_agent, ticket, wallet, sms_gateway
):
    verification = strong_verification(ticket, wallet, other_agent)
    confirm_new_contact(ticket, wallet, acting_user=agent, kind="phone", value=NEW_PHONE)
    answer(last_sms_link(sms_gateway, NEW_PHONE))
    with pytest.raises(ValidationError, match="yourself"):
        change_phone(ticket, wallet, agent, verification)
    wallet.refresh_from_db()
    assert wallet.registered_phone == PHONE


def test_with_no_other_contact_a_supervisor_may_override_on_record(
    supervisor, ticket, wallet, sms_gateway
):
    WalletAccount.objects.filter(pk=wallet.pk).update(registered_email="")
    wallet.refresh_from_db()
    verification = verify_identity(
        ticket,
        wallet,
        acting_user=supervisor,
        answers={"phone": PHONE, "transaction_amount": "268"},
    )
    assert verification.strength == Verification.Strength.WEAK
    confirm_new_contact(ticket, wallet, acting_user=supervisor, kind="phone", value=NEW_PHONE)
    answer(last_sms_link(sms_gateway, NEW_PHONE))
    # Through the desk's action, which also leaves the supervisor's note on the ticket.
    desk.change_contact_by_agent(
        ticket,
        wallet,
        acting_user=supervisor,
        kind="phone",
        new_value=NEW_PHONE,
        verification=verification,
        reason="phone and email both lost; ID checked on video call",
    )
    wallet.refresh_from_db()
    assert wallet.registered_phone == NEW_PHONE
    event = AccountEvent.objects.get(action=AccountEvent.Action.CONTACT_CHANGED)
    assert event.details["supervisor_override"] is True
    note = ticket.messages.get(direction="note", author=supervisor)
    assert "Supervisor override" in note.text
    assert "13700137000" not in note.text


def test_a_contact_already_on_another_wallet_is_refused(agent, ticket, wallet, other_customer):
    with pytest.raises(ValidationError, match="another wallet"):
        confirm_new_contact(ticket, wallet, acting_user=agent, kind="phone", value="+8613900139000")


def test_an_expired_verification_allows_no_contact_change(agent, ticket, wallet, smtp_server):
    verification = strong(ticket, wallet, agent, smtp=smtp_server, channel="email")
    Verification.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    verification.refresh_from_db()
    with pytest.raises(ValidationError, match="expired"):
        change_phone(ticket, wallet, agent, verification)


def test_the_panel_lists_pending_requests(agent, agent_client, ticket, wallet):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    unfreeze_request(wallet, agent, ticket)
    page = agent_client.get(ticket_url(ticket)).content.decode()
    assert "Waiting for approval" in page
    assert request_page(ApprovalRequest.objects.get()) in page


# --- what a request rests on ----------------------------------------------------------------


def test_an_unfreeze_request_needs_a_strong_verification_by_the_requester_or_the_app(
    agent, other_agent, ticket, wallet
):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    for verification, refused in [
        (None, "Verify the customer's identity on this ticket first."),
        (
            verify_identity(ticket, wallet, acting_user=agent, answers={"phone": PHONE}),
            "This needs a strong identity verification",
        ),
        (strong_verification(ticket, wallet, other_agent), "yourself"),
    ]:
        with pytest.raises(ValidationError, match=refused):
            request_unfreeze(
                wallet, acting_user=agent, reason="ok", ticket=ticket, verification=verification
            )
    assert not ApprovalRequest.objects.exists()
    # Any agent may rest on the app's.
    request = request_unfreeze(
        wallet,
        acting_user=agent,
        reason="ok",
        ticket=ticket,
        verification=strong_verification(ticket, wallet, None),
    )
    assert request.verification.by_app
    event = AccountEvent.objects.get(action=AccountEvent.Action.UNFREEZE_REQUESTED)
    assert event.verification["id"] == request.verification_id


def test_the_wallet_list_cannot_request_an_unfreeze_without_the_agents_verification(
    agent, agent_client, wallet
):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    response = agent_client.post(
        reverse("admin:accounts_walletaccount_changelist"),
        {"action": "request_unfreeze_selected", "_selected_action": [wallet.pk], "reason": "x"},
        follow=True,
    )
    assert "Verify the customer's identity on this ticket first." in " ".join(
        page_messages(response)
    )
    assert not ApprovalRequest.objects.exists()


def test_a_request_resting_on_no_strong_verification_can_only_be_rejected(
    agent, supervisor, supervisor_client, ticket, wallet
):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    # As requests filed before this rule may: on no verification at all.
    request = ApprovalRequest.objects.create(
        kind=ApprovalRequest.Kind.UNFREEZE, account=wallet, ticket=ticket, requested_by=agent
    )
    warning = "does not rest on a strong identity verification"
    page = supervisor_client.get(request_page(request)).content.decode()
    assert warning in page
    assert "None: this request rests on no identity verification." in page
    assert 'value="approve"' not in page and 'value="reject"' in page
    with pytest.raises(ValidationError, match=warning):
        approve_request(request, acting_user=supervisor)
    response = supervisor_client.post(decide_url(request), {"decision": "approve"}, follow=True)
    assert any(warning in message for message in page_messages(response))
    wallet.refresh_from_db()
    assert wallet.status == WalletAccount.Status.FROZEN
    reject_request(request, acting_user=supervisor, note="no verification")
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.REJECTED


def test_a_request_on_a_colleagues_verification_cannot_be_approved(
    agent, other_agent, supervisor, ticket, wallet
):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    request = ApprovalRequest.objects.create(
        kind=ApprovalRequest.Kind.UNFREEZE,
        account=wallet,
        ticket=ticket,
        requested_by=agent,
        verification=strong_verification(ticket, wallet, other_agent),
    )
    assert can_decide(request, supervisor)
    with pytest.raises(ValidationError, match="does not rest on a strong"):
        approve_request(request, acting_user=supervisor)


def test_the_approver_sees_which_verification_the_request_rests_on(
    agent, supervisor_client, ticket, wallet, sms_gateway
):
    freeze_wallet(wallet, acting_user=agent, reason="risk")
    request = request_unfreeze(
        wallet,
        acting_user=agent,
        reason="ok",
        ticket=ticket,
        verification=strong_verification(ticket, wallet, None),
    )
    page = supervisor_client.get(request_page(request)).content.decode()
    assert "Verified by the MY Wallet app" in page
    assert "signed in to the MY Wallet app" in page
    assert 'value="approve"' in page
    verification = strong(ticket, wallet, agent, sms_gateway)
    own = request_national_id_change(
        ticket, wallet, acting_user=agent, verification=verification, new_id=NEW_ID, reason="x"
    )
    page = supervisor_client.get(request_page(own)).content.decode()
    assert "Verified by agent" in page
    assert "confirmed on the registered phone" in page
