"""The agent workspace's pages for each app's models, registered on the admin site when
Django autodiscovers ``workspace.admin``."""

from . import calls, chats, customers, knowledge, service_levels, staff, tickets, wallet_security

__all__ = [
    "calls",
    "chats",
    "customers",
    "knowledge",
    "service_levels",
    "staff",
    "tickets",
    "wallet_security",
]
