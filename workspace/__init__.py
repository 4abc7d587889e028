"""The agent workspace: the two-factor admin site and its pages for customers, wallets,
tickets and chats.

An edge over every app: it may import accounts, tickets and chat, and nothing imports it
(Django finds it through INSTALLED_APPS: AgentAdminConfig's site, autodiscovered admin)."""
