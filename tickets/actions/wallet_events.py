"""Events from the wallet core, end to end: the account side (accounts.actions.wallet_events:
parsing, storing, transactions, risk rules) and what the desk adds when a wallet must be
protected: one high-priority security ticket, the lock or freeze, and the customer told on
their contacts and on that ticket.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actions import wallet_events as events
from accounts.actions.wallet_events import Outcome, ParsedEvent, Rejected
from accounts.models import WalletAccount

from ..models import Channel, Queue, Ticket
from .lifecycle import open_ticket
from .wallets import freeze_wallet, lock_wallet

logger = logging.getLogger(__name__)


def receive_wallet_event(body: bytes) -> Outcome:
    """Parse, store and act on one signed event body, once (its payload contract is
    accounts.actions.wallet_events')."""
    try:
        payload = events.parse_body(body)
    except Rejected as exc:
        return events.rejected(body, exc, payload=None)
    try:
        with transaction.atomic():
            event = events.parse_event(payload)
            stored = events.claim(event, body)
            if stored is None:
                return events.store_duplicate(event, body, payload)
            handled = events.apply_event(event)
            actions = handled.actions + _protect(event, handled)
            return events.processed(stored, event, actions)
    except Rejected as exc:
        # Whatever the handler wrote is rolled back; the body is kept as rejected.
        return events.rejected(body, exc, payload=payload)
    except Exception:
        logger.exception("wallet event could not be processed")
        return events.store_failed(body, payload)


def _protect(event: ParsedEvent, handled: events.Handled) -> list[str]:
    """Lock after too many wrong passwords; freeze on a risk rule hit, unless the wallet is
    frozen or closed already (then only the RISK_ALERT rows are written)."""
    wallet = (
        WalletAccount.objects.select_for_update()
        .select_related("customer")
        .get(pk=event.account.pk)
    )
    if handled.lock:
        ticket = _security_ticket(
            wallet,
            _("Wallet %(number)s locked after %(count)d wrong payment passwords")
            % {"number": wallet.number, "count": wallet.failed_password_attempts},
        )
        lock_wallet(
            wallet,
            reason=_("%(count)d consecutive wrong payment passwords.")
            % {"count": wallet.failed_password_attempts},
            lock_reason=WalletAccount.LockReason.WRONG_PASSWORD,
            ticket=ticket,
        )
        return ["locked", f"ticket {ticket.reference}"]
    hits = handled.risk_hits
    if not hits:
        return []
    protected = wallet.status in (WalletAccount.Status.FROZEN, WalletAccount.Status.CLOSED)
    ticket = None
    if not protected:
        ticket = _security_ticket(
            wallet,
            _("Risk rule hit on wallet %(number)s: %(rules)s")
            % {"number": wallet.number, "rules": ", ".join(name for name, _r, _d in hits)},
        )
    events.record_risk_hits(wallet, event, hits, ticket=ticket)
    actions = [f"risk {name}" for name, _r, _d in hits]
    if protected:
        return actions
    freeze_wallet(
        wallet,
        acting_user=None,
        reason="; ".join(reason for _n, reason, _d in hits),
        ticket=ticket,
        lock_reason=WalletAccount.LockReason.RISK,
    )
    return [*actions, "frozen", f"ticket {ticket.reference}"]


def _security_ticket(wallet: WalletAccount, subject: str) -> Ticket:
    return open_ticket(
        customer=wallet.customer,
        channel=Channel.API,
        subject=subject,
        acting_user=None,
        category=Ticket.Category.SECURITY,
        priority=Ticket.Priority.HIGH,
        queue=Queue.objects.filter(slug=settings.SECURITY_TICKET_QUEUE).first(),
        wallet=wallet,
    )
