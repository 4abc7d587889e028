"""Who may do what: the one module that names the permissions the actions check and tells
an agent from anyone else.

Actions check with these; pages, sockets and the admin ask the same functions and names,
so a control is shown exactly when the action behind it would be allowed. The groups that
hold them are in accounts.roles.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

# Tickets: reading them, working them (reply, note, assign, status, details, chats), and
# running a stored payload through its channel again.
VIEW_TICKETS = "tickets.view_ticket"
WORK_TICKETS = "tickets.change_ticket"
REPROCESS_INBOUND = "tickets.change_inboundmessage"
# Personal data a customer wrote in a message, shown in full through the audited reveal.
REVEAL_PERSONAL_DATA = "tickets.reveal_sensitivevalue"

# Customers and their identities.
ADD_IDENTITY = "accounts.add_customeridentity"
MERGE_CUSTOMERS = "accounts.merge_customer"

# Wallets: looking at them (and verifying a caller), protective and lifting changes, and
# the two-person decisions.
VIEW_WALLETS = "accounts.view_walletaccount"
FREEZE_WALLETS = "accounts.freeze_walletaccount"
UNLOCK_WALLETS = "accounts.unlock_walletaccount"  # also a contact change for a lost contact
UNFREEZE_WALLETS = "accounts.unfreeze_walletaccount"  # approves an unfreeze
CHANGE_PROTECTED_DETAILS = "accounts.change_protected_details"  # approves an ID change


def is_agent(user) -> bool:
    """Whether ``user`` is a working agent: signed in, active, staff, and allowed to work
    tickets. The admin, the agent socket and the actions all ask this one rule (the socket
    and the admin also demand a session verified with two factors)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(WORK_TICKETS)
    )


def require_agent(user) -> None:
    if not is_agent(user):
        raise PermissionDenied(_("Only agents can do this."))


def permission_refusal(user, perm: str, *, agent: bool = False) -> str:
    """Why ``user`` may not use ``perm``, or "" when they may: the text require_permission
    refuses with, for pages that show a precondition before the action checks it.
    ``agent``: they must be an agent (is_agent) as well."""
    allowed = user is not None and (not agent or is_agent(user)) and user.has_perm(perm)
    return "" if allowed else _("You do not have permission to do this.")


def require_permission(user, perm: str) -> None:
    reason = permission_refusal(user, perm)
    if reason:
        raise PermissionDenied(reason)
