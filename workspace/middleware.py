"""Agents' logins end after an idle time and an absolute lifetime (accounts.agent_sign_in).

Every login is an agent's (customers never use Django's login: accounts.app_session), so
every authenticated request is checked: an ended login is logged out before the view runs,
and the admin sends the agent to sign in again. A live login's request runs in the time
zone the agent chose (workspace.time_zone), else settings.TIME_ZONE.
"""

from django.contrib.auth import logout
from django.utils import timezone

from accounts import agent_sign_in

from .time_zone import agent_zone


class AgentSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if agent_sign_in.expired(request.session):
                logout(request)
            else:
                agent_sign_in.touch(request.session)
                with timezone.override(agent_zone(request.session)):
                    return self.get_response(request)
        return self.get_response(request)
