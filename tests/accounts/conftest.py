"""Fixtures for tests/accounts: the SMTP server, the SMS gateway and the code limits
(see codes_fixtures)."""

import pytest

from tests.accounts.codes_fixtures import _no_code_limits, sms_gateway, smtp_server

__all__ = ["_no_code_limits", "sms_gateway", "smtp_server"]


@pytest.fixture(autouse=True)
def _notices_leave_at_once(tasks_at_once):
    """Notices and codes leave from tasks; these tests look at what reached the gateway."""
