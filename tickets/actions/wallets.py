"""Wallet security from the support desk: the account's own actions
(accounts.actions.security) with what the desk adds. The notice the customer is sent is
also shown on the ticket the change was made on, and a supervisor's override leaves a note
there. The workspace and the wallet core's events call these; the customer's own changes
(accounts.actions.self_service) have no ticket and call the account side directly.
"""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.actions import security
from accounts.event_text import notice_sent
from accounts.models import WalletAccount
from accounts.notify import Notice
from mywallet_support.masking import mask_identity

from ..models import Message, Ticket
from ..sources import sender_for
from . import thread
from .replies import add_note

logger = logging.getLogger(__name__)


def show_notice(notice: Notice) -> None:
    """The notice also on its ticket's thread: to the customer through the ticket's channel
    when it can send (they read it where they asked), else as a note for the agents. In a
    savepoint: a notice that cannot be shown is logged and never undoes the change."""
    ticket = notice.ticket
    if ticket is None:
        return
    metadata = {"notice": notice.event}
    try:
        with transaction.atomic():
            ticket = Ticket.objects.get(pk=ticket.pk)
            if sender_for(ticket.channel) and thread.takes(ticket, Message.Direction.OUTBOUND):
                thread.post_notice(ticket, text=notice.text, metadata=metadata)
            else:
                text = _("%(sent)s: %(text)s") % {
                    "sent": notice_sent(notice.phones, notice.emails),
                    "text": notice.text,
                }
                thread.post_system_note(ticket, text=text, metadata=metadata)
    except Exception:
        logger.exception("notice %s not shown on ticket %s", notice.event, ticket.pk)


def freeze_wallet(account: WalletAccount, **kwargs) -> WalletAccount:
    """`security.freeze_wallet`, its notice shown on the ticket."""
    return security.freeze_wallet(account, on_notice=show_notice, **kwargs)


def lock_wallet(account: WalletAccount, **kwargs) -> WalletAccount:
    """`security.lock_wallet`, its notice shown on the ticket."""
    return security.lock_wallet(account, on_notice=show_notice, **kwargs)


def unlock_wallet(account: WalletAccount, **kwargs) -> WalletAccount:
    """`security.unlock_wallet`, its notice shown on the ticket."""
    return security.unlock_wallet(account, on_notice=show_notice, **kwargs)


def unlock_with_own_verification(account: WalletAccount, **kwargs) -> WalletAccount:
    """`security.unlock_with_own_verification`, its notice shown on the verification's
    ticket."""
    return security.unlock_with_own_verification(account, on_notice=show_notice, **kwargs)


def approve_request(request, **kwargs):
    """`security.approve_request`, its notice shown on the request's ticket."""
    return security.approve_request(request, on_notice=show_notice, **kwargs)


@transaction.atomic
def change_contact_by_agent(
    ticket: Ticket, account: WalletAccount, *, acting_user, kind: str, verification, **kwargs
) -> WalletAccount:
    """`security.change_contact_by_agent`, its notice shown on the ticket; a supervisor's
    override (`security.contact_change_override`) also leaves their note on the ticket."""
    override = security.contact_change_override(
        ticket, account, acting_user=acting_user, kind=kind, verification=verification
    )
    field = "registered_phone" if kind == "phone" else "registered_email"
    old = getattr(WalletAccount.objects.get(pk=account.pk), field)
    wallet = security.change_contact_by_agent(
        ticket,
        account,
        acting_user=acting_user,
        kind=kind,
        verification=verification,
        on_notice=show_notice,
        **kwargs,
    )
    if override:
        add_note(
            ticket,
            acting_user=acting_user,
            body=_(
                "Supervisor override: the registered %(kind)s was changed from %(old)s to "
                "%(new)s without a code to the other contact. Reason: %(reason)s"
            )
            % {
                "kind": kind,
                "old": mask_identity(kind, old),
                "new": mask_identity(kind, getattr(wallet, field)),
                "reason": kwargs.get("reason", ""),
            },
        )
    return wallet
