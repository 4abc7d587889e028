"""Fixtures for tests/tickets: the SMTP server and the SMS gateway of the wallet notices
(see tests/accounts/codes_fixtures); the controlled clock (tests/tickets/clock.py)."""

from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway, smtp_server
from tests.tickets.clock import clock

__all__ = ["_no_code_limits", "clock", "sms_gateway", "smtp_server"]
