"""Confirm on the customer's own device: links to a wallet's registered phone or email.

An agent who needs to know that the caller owns the wallet does not ask for a code read
out (the codes' own text says never to tell anyone). Instead the registered phone (SMS) or
email receives a single-use link to ``CUSTOMER_SITE_URL/account/confirm/<token>/``, naming
the ticket and the agent; whoever holds the registered contact opens it and answers yes or
no (accounts.actions.confirmation). The unguessable token sent to the registered contact
is the proof, so the page needs no login.

Only a keyed digest of the token is stored; the token exists in memory and in the message,
never in a log line. A link answers once, within CONFIRMATION_VALID_SECONDS. Sending draws
on the agents' hourly budget of the wallet (accounts.codes: BY_AGENT); opening links that
lead nowhere is limited per client address (CONFIRMATION_LOOKUPS_PER_ADDRESS_HOUR).
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from mywallet_support.mail import DeliveryError, customer_language, transmit

from .audit import record_event
from .codes import BY_AGENT, CodeNotSent, take_quota
from .models import AccountEvent, CodeDevice, DeviceConfirmation, WalletAccount
from .sms import SMSError, send_sms

logger = logging.getLogger(__name__)

_LOOKUP_WINDOW = 3600  # seconds: the per-address limit on links that lead nowhere


class LookupsExhausted(Exception):
    """Too many links that lead nowhere were opened from this client address."""


def token_digest(token: str) -> str:
    return salted_hmac("accounts.confirmations.token", token, algorithm="sha256").hexdigest()


def confirm_url(token: str) -> str:
    """The link the customer opens: the customers' site and the confirm page's path."""
    path = reverse("account_confirm", args=[token])
    return settings.CUSTOMER_SITE_URL.rstrip("/") + path


def agent_name(user) -> str:
    """The name the customer is shown: the agent's display name, else their user name."""
    return user.get_full_name() or user.get_username()


# --- sending --------------------------------------------------------------------------------


def send_confirmation(
    account: WalletAccount, *, ticket, agent, channel: str, purpose: str, destination: str
) -> DeviceConfirmation:
    """Record a new confirmation for ``destination`` and send its link now (the agent is
    with the customer and waits for the answer). Raises CodeNotSent with a reason for the
    agent: no customer site configured, the agents' hourly budget spent, or the message
    not delivered (then the confirmation is marked undelivered).

    Call it outside a transaction: the link leaves before yours commits.
    """
    if not settings.CUSTOMER_SITE_URL:
        raise CodeNotSent(
            _("No confirmation link can be sent: CUSTOMER_SITE_URL is not set."),
            reason=CodeNotSent.NO_DESTINATION,
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        # One sender per wallet at a time, as for codes.
        WalletAccount.objects.select_for_update().filter(pk=account.pk).first()
        take_quota(account, client_ip=None, started_by=BY_AGENT)
        confirmation = DeviceConfirmation.objects.create(
            account=account,
            ticket=ticket,
            agent=agent,
            purpose=purpose,
            channel=channel,
            destination=destination,
            token_digest=token_digest(token),
            expires_at=timezone.now() + timedelta(seconds=settings.CONFIRMATION_VALID_SECONDS),
        )
        record_event(
            customer=account.customer,
            account=account,
            ticket=ticket,
            action=AccountEvent.Action.CODE_SENT,
            acting_user=agent,
            details={
                "confirmation": confirmation.pk,
                "channel": channel,
                "purpose": f"device_confirmation_{purpose}",
                "destination": confirmation.masked_destination,
            },
        )
    try:
        _deliver(confirmation, token)
    except (SMSError, DeliveryError) as exc:
        DeviceConfirmation.objects.filter(pk=confirmation.pk).update(
            status=DeviceConfirmation.Status.UNDELIVERED
        )
        logger.warning(
            "confirmation %s to %s not delivered: %s",
            confirmation.pk,
            confirmation.masked_destination,
            exc,
        )
        raise CodeNotSent(
            _("We could not send the confirmation just now. Please try again in a few minutes."),
            reason=CodeNotSent.DELIVERY_FAILED,
        ) from exc
    logger.info("confirmation %s sent to %s", confirmation.pk, confirmation.masked_destination)
    return confirmation


def confirmation_message(confirmation: DeviceConfirmation, token: str) -> tuple[str, str, str]:
    """(email subject, text message, email body) in the customer's language."""
    account = confirmation.account
    with translation.override(customer_language(account.customer.language)):
        params = {
            "reference": confirmation.ticket.reference,
            "agent": agent_name(confirmation.agent),
            "url": confirm_url(token),
            "minutes": settings.CONFIRMATION_VALID_SECONDS // 60,
        }
        if confirmation.purpose == DeviceConfirmation.Purpose.NEW_CONTACT:
            ask = _(
                "Confirm that this is your new contact for MY Wallet, as you asked support "
                "(%(reference)s, %(agent)s)"
            )
        else:
            ask = _(
                "Confirm that you are talking to MY Wallet support about %(reference)s (%(agent)s)"
            )
        ask = ask % params
        subject = _("MY Wallet: confirm that it is you (%(reference)s)") % params
        sms = _(
            "[MY Wallet] %(ask)s: %(url)s (valid %(minutes)s minutes). Did not ask? Open it "
            "and choose No. No one from MY Wallet will ever ask you for a code or password."
        ) % {**params, "ask": ask}
        body = _(
            "%(ask)s:\n\n%(url)s\n\n"
            "The link is valid for %(minutes)s minutes and works once. On the page, choose "
            "“Yes, this is me” or “No, I did not ask for this”.\n\n"
            "You do not need to tell anyone anything: no one from MY Wallet will ever ask you "
            "for a code or a password.\n\n"
            "MY Wallet Support\n"
        ) % {**params, "ask": ask}
    return subject, sms, body


def _deliver(confirmation: DeviceConfirmation, token: str) -> None:
    subject, sms, body = confirmation_message(confirmation, token)
    if confirmation.channel == CodeDevice.Channel.PHONE:
        send_sms(confirmation.destination, sms)
        return
    transmit(
        EmailMessage(
            subject=subject,
            body=body,
            to=[confirmation.destination],
            headers={"Auto-Submitted": "auto-generated"},
        )
    )


# --- finding a link's confirmation ----------------------------------------------------------


def pending_confirmation(token: str, *, client_ip: str | None) -> DeviceConfirmation | None:
    """The confirmation ``token`` opens, if it may still be answered (pending, not expired),
    with its wallet, ticket and agent; None otherwise, counted against the client address.
    Raises LookupsExhausted once the address has opened too many such links this hour."""
    key = lookup_key(client_ip)
    if key and (cache.get(key) or 0) >= settings.CONFIRMATION_LOOKUPS_PER_ADDRESS_HOUR:
        raise LookupsExhausted
    confirmation = (
        DeviceConfirmation.objects.select_related("account__customer", "ticket", "agent")
        .filter(token_digest=token_digest(token), status=DeviceConfirmation.Status.PENDING)
        .first()
    )
    if confirmation is not None and not confirmation.expired:
        return confirmation
    if key and not cache.add(key, 1, timeout=_LOOKUP_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=_LOOKUP_WINDOW)
    return None


def lookup_key(client_ip: str | None) -> str:
    if not client_ip:
        return ""
    # Hashed: the cache need not hold customers' addresses.
    hashed = salted_hmac("accounts.confirmations.address", client_ip, algorithm="sha256")
    return f"confirmations:address:{hashed.hexdigest()[:32]}"
