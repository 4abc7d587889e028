"""Step-up: an agent enters their own authenticator code again before a sensitive action.

Signing in proved the second factor once; unlocking a wallet asks for it again, so a
workstation left signed in is not enough. The time of the last good code is kept in the
agent's session; the action itself (accounts.actions.security) decides whether it is
recent enough.
"""

import logging
from datetime import datetime

from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

logger = logging.getLogger(__name__)

SESSION_KEY = "mw_step_up_at"


def confirm_step_up(request, token: str) -> bool:
    """Check ``token`` against the signed-in agent's confirmed authenticator app (with
    django-otp's throttling and replay protection) and remember the time if it is right."""
    token = "".join((token or "").split())
    user = request.user
    if not (user.is_authenticated and token.isdigit()):
        return False
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        allowed, _data = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            request.session[SESSION_KEY] = timezone.now().isoformat()
            return True
    logger.info("step-up refused for user %s", user.pk)
    return False


def stepped_up_at(request) -> datetime | None:
    """When the agent last entered a good code in this session, if ever."""
    raw = request.session.get(SESSION_KEY)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None
