"""Requests per caller: each key, agent and customer has its own budget, and anonymous
callers (the public articles) one per address. Rates are settings (``API_RATES``), so a
load test or a busy integration can be given more without a code change."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from mywallet_support.http import client_address

from .callers import ANONYMOUS, caller


class CallerThrottle(SimpleRateThrottle):
    scope = "api"

    def allow_request(self, request, view):
        self.who = caller(request)
        self.rate = settings.API_RATES[self.who.kind]
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self):
        return None  # chosen per caller in allow_request

    def get_cache_key(self, request, view):
        if self.who.kind == ANONYMOUS:
            return f"api-throttle:address:{client_address(request)}"
        return f"api-throttle:{self.who.label}"
