"""The agent and supervisor groups and what each may do. Kept in step on every migrate.

The permissions the code checks are named by their constants (accounts.permissions); the
rest are Django's model permissions, which only the admin checks, named as Django does.
"""

from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from .permissions import (
    ADD_IDENTITY,
    CHANGE_PROTECTED_DETAILS,
    FREEZE_WALLETS,
    MERGE_CUSTOMERS,
    REPROCESS_INBOUND,
    REVEAL_PERSONAL_DATA,
    UNFREEZE_WALLETS,
    UNLOCK_WALLETS,
    VIEW_TICKETS,
    VIEW_WALLETS,
    WORK_TICKETS,
)

AGENTS = "Agents"
SUPERVISORS = "Supervisors"

AGENT_PERMISSIONS = [
    "accounts.view_customer",
    "accounts.change_customer",
    "accounts.view_customeridentity",
    ADD_IDENTITY,
    VIEW_WALLETS,
    "accounts.view_bankcard",
    "accounts.view_transaction",
    "accounts.view_accountevent",
    FREEZE_WALLETS,
    UNLOCK_WALLETS,
    "accounts.view_verification",
    "accounts.view_approvalrequest",
    "tickets.view_queue",
    VIEW_TICKETS,
    "tickets.add_ticket",
    WORK_TICKETS,
    "tickets.view_message",
    "tickets.add_message",
    "tickets.view_attachment",
    "tickets.view_ticketevent",
    "tickets.view_calllog",
    "tickets.add_calllog",
    "tickets.change_calllog",
    "tickets.view_callback",
    "tickets.change_callback",
    "tickets.view_inboundmessage",
    REVEAL_PERSONAL_DATA,
    "chat.view_conversation",
    "chat.view_agentpresence",
    "tickets.view_article",
    "tickets.view_macro",
]

SUPERVISOR_PERMISSIONS = [
    *AGENT_PERMISSIONS,
    MERGE_CUSTOMERS,
    UNFREEZE_WALLETS,
    CHANGE_PROTECTED_DETAILS,
    "accounts.change_walletaccount",
    "accounts.view_walletevent",
    "tickets.add_queue",
    "tickets.change_queue",
    "tickets.view_slapolicy",
    "tickets.add_slapolicy",
    "tickets.change_slapolicy",
    "tickets.delete_slapolicy",
    "tickets.view_routingrule",
    "tickets.add_routingrule",
    "tickets.change_routingrule",
    "tickets.delete_routingrule",
    REPROCESS_INBOUND,
    "tickets.delete_ticket",
    "tickets.add_article",
    "tickets.change_article",
    "tickets.delete_article",
    "tickets.add_macro",
    "tickets.change_macro",
    "tickets.delete_macro",
    # Sign-ins (django-axes): who failed, who is paused, who signed in. View only.
    "axes.view_accessattempt",
    "axes.view_accessfailurelog",
    "axes.view_accesslog",
]

ROLES = {AGENTS: AGENT_PERMISSIONS, SUPERVISORS: SUPERVISOR_PERMISSIONS}
ROLE_LABELS = {AGENTS: _("Agents"), SUPERVISORS: _("Supervisors")}


def ensure_roles(**kwargs) -> None:
    """Create the groups and give them exactly their permissions (idempotent).

    Connected to post_migrate for every app, since each app's permissions appear only
    after its own migrations: the last call sees them all.
    """
    for name, perms in ROLES.items():
        group, _created = Group.objects.get_or_create(name=name)
        wanted = set()
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.add((app_label, codename))
        found = [
            p
            for p in Permission.objects.select_related("content_type").filter(
                codename__in=[codename for _app, codename in wanted]
            )
            if (p.content_type.app_label, p.codename) in wanted
        ]
        group.permissions.set(found)
