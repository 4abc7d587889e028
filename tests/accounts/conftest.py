"""Fixtures for tests/accounts: the SMTP server, the SMS gateway and the code limits
(see codes_fixtures)."""

from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway, smtp_server

__all__ = ["_no_code_limits", "sms_gateway", "smtp_server"]
