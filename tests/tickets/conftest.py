"""Fixtures for tests/tickets: the SMTP server and the SMS gateway of the wallet notices
(see tests/accounts/codes_fixtures)."""

from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway, smtp_server

__all__ = ["_no_code_limits", "sms_gateway", "smtp_server"]
