"""Who is calling the API, whichever way they proved it.

Three kinds of caller, each from its own authentication class (api.authentication):

- an integration, by its API key: acts as the key's service account, within its scopes;
- an agent, by the admin's session (two factors verified; CSRF on writes): what the agent
  may do in the admin, every scope;
- a customer, by the MY Wallet app's signed token: their own tickets only;
- the telephony system, by its shared token: call records only (POST /api/calls/).

Views ask `caller(request)` and never look at the authentication classes themselves.
"""

from dataclasses import dataclass, field

from accounts.app_identity import AppIdentity
from accounts.permissions import is_agent

from .authentication import TelephonyToken
from .models import ApiKey, Scope

KEY, AGENT, CUSTOMER, ANONYMOUS = "key", "agent", "customer", "anonymous"
TELEPHONY = "telephony"


@dataclass(frozen=True)
class Caller:
    kind: str
    user: object = None  # the acting user: the key's service account, or the agent
    key: ApiKey | None = None
    identity: AppIdentity | None = field(default=None, repr=False)

    @property
    def customer(self):
        """The customer an app token proved (their wallet's owner), else None."""
        if self.identity is None:
            return None
        customer = self.identity.account.customer
        # A merged customer's tickets live on the customer it was merged into.
        while customer.merged_into_id is not None:
            customer = customer.merged_into
        return customer

    def allows(self, scope: str) -> bool:
        """Whether the caller holds ``scope``: a key by its scopes, an agent always (the
        actions still check their permissions), a customer and an anonymous caller never
        (their endpoints say so themselves)."""
        if self.kind == KEY:
            return self.key.allows(scope)
        if self.kind == TELEPHONY:
            return scope == Scope.CALLS_WRITE
        return self.kind == AGENT

    @property
    def sees_personal_data(self) -> bool:
        """Contacts in full: a key with the personal data scope. Agents see them masked
        here as in the admin (in full only on a strongly verified ticket, there)."""
        return self.kind == KEY and self.key.allows(Scope.CUSTOMERS_PERSONAL)

    @property
    def label(self) -> str:
        """Stable and free of secrets: the throttles' and idempotency keys' owner."""
        if self.kind == KEY:
            return f"key:{self.key.pk}"
        if self.kind == AGENT:
            return f"agent:{self.user.pk}"
        if self.kind == CUSTOMER:
            return f"customer:{self.identity.account.pk}"
        return self.kind  # the telephony system (one), or anonymous


def caller(request) -> Caller:
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiKey):
        return Caller(KEY, user=request.user, key=auth)
    if isinstance(auth, AppIdentity):
        return Caller(CUSTOMER, identity=auth)
    if isinstance(auth, TelephonyToken):
        return Caller(TELEPHONY)
    user = getattr(request, "user", None)
    if user is not None and is_agent(user) and _verified(user):
        return Caller(AGENT, user=user)
    return Caller(ANONYMOUS)


def _verified(user) -> bool:
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())
