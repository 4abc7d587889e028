"""Shared pieces of the security workflow tests: a wallet with a recent payment, a ticket
for its customer, the agent's current authenticator code, the code a customer received,
the confirmation link a customer received and their answer to it."""

import re
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp

from accounts.actions.confirmation import answer_confirmation, confirm_on_device
from accounts.confirmations import pending_confirmation
from accounts.models import Transaction, Verification, WalletAccount
from tests.accounts.codes_fixtures import code_in, mail_text
from tests.tickets import factories
from tickets import actions

PHONE = "+8613800138000"
EMAIL = "li.wei@example.com"
# A valid 18-character PRC resident ID number (its check digit is right).
NEW_ID = "11010519491231002X"


def wallet_with_payment(customer) -> WalletAccount:
    wallet = customer.wallets.get()
    Transaction.objects.create(
        account=wallet,
        reference="T-SEC-1",
        amount=Decimal("268.00"),
        merchant="Starbucks Coffee (Shanghai)",
        status=Transaction.Status.SUCCEEDED,
        occurred_at=timezone.now() - timedelta(days=2),
    )
    return wallet


def ticket_for(customer, sender=EMAIL):
    ticket = actions.receive(factories.email(sender, text="My wallet is locked")).ticket
    assert ticket.customer_id == customer.pk
    return ticket


def lock(wallet, attempts=5) -> None:
    WalletAccount.objects.filter(pk=wallet.pk).update(
        status=WalletAccount.Status.LOCKED,
        lock_reason=WalletAccount.LockReason.WRONG_PASSWORD,
        failed_password_attempts=attempts,
    )


def strong_verification(ticket, wallet, agent) -> Verification:
    """A strong verification of ``wallet``'s customer by ``agent`` on ``ticket``, valid 30
    minutes (as the customer's yes on their registered phone records one); ``agent`` None
    is the MY Wallet app's."""
    return Verification.objects.create(
        ticket=ticket,
        account=wallet,
        agent=agent,
        strength=Verification.Strength.STRONG,
        checks_passed=["device_confirmation_sms"] if agent is not None else ["app_token"],
        expires_at=timezone.now() + timedelta(minutes=30),
    )


LINK = re.compile(r"https://support\.example\.test/account/confirm/([-\w]+)/")


def link_token(text: str) -> str:
    [token] = LINK.findall(text)
    return token


def last_sms_link(gateway, number=PHONE) -> str:
    return link_token(gateway.to(number)[-1].text)


def last_mail_link(smtp_server, address=EMAIL) -> str:
    mails = [m for m in smtp_server.messages if address in m.rcpt_tos]
    return link_token(mail_text(mails[-1]))


def answer(token: str, *, confirmed: bool = True):
    """The customer's answer to the link ``token``, as the confirm page gives it."""
    return answer_confirmation(pending_confirmation(token, client_ip=None), confirmed=confirmed)


def confirmed_on_device(ticket, wallet, agent, *, gateway=None, smtp=None, channel="phone"):
    """``agent`` sends a confirmation link and the customer says yes: the Verification."""
    confirm_on_device(ticket, wallet, acting_user=agent, channel=channel)
    token = last_sms_link(gateway) if channel == "phone" else last_mail_link(smtp)
    verification = answer(token).verification
    assert verification.strength == Verification.Strength.STRONG
    return verification


def authenticator_code(user) -> str:
    device = user.totpdevice_set.get()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def last_sms_code(gateway, number=PHONE) -> str:
    return code_in(gateway.to(number)[-1].text)


def last_mail_code(smtp_server, address=EMAIL) -> str:
    mails = [m for m in smtp_server.messages if address in m.rcpt_tos]
    return code_in(mail_text(mails[-1]))


def security_url(ticket, step: str) -> str:
    return reverse("admin:tickets_ticket_security", args=[ticket.pk, step])


def ticket_url(ticket) -> str:
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
