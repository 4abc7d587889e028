"""The agent workspace's pages for each app's models, registered on the admin site when
Django autodiscovers ``workspace.admin``."""

from . import chats, customers, staff, tickets, wallet_security

__all__ = ["chats", "customers", "staff", "tickets", "wallet_security"]
