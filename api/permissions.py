"""Who may call a view: its ``callers`` (the kinds of caller it serves) and, for keys, the
scope its ``resource`` needs: "<resource>:read" to read, "<resource>:write" to change.

Per-object rules (a customer's own tickets only) are the views' querysets: a customer's
view starts from that customer's tickets, so another's is never found (404, not 403, so
an id's existence is not confirmed either).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .callers import AGENT, ANONYMOUS, KEY, TELEPHONY, caller


class ScopedAccess(BasePermission):
    message = "This credential may not do this."

    def has_permission(self, request, view):
        who = caller(request)
        if who.kind not in getattr(view, "callers", (KEY, AGENT)):
            return False
        if who.kind in (KEY, AGENT, TELEPHONY):
            scope = required_scope(request, view)
            return scope is None or who.allows(scope)
        return who.kind != ANONYMOUS or ANONYMOUS in view.callers


def required_scope(request, view) -> str | None:
    """The scope this request needs: the view's ``scopes`` by action, else by method; None
    for a view with no ``resource`` (any key or agent may call it)."""
    action = getattr(view, "action", None)
    named = getattr(view, "scopes", {})
    if action in named:
        return named[action]
    if getattr(view, "resource", None) is None:
        return None
    level = "read" if request.method in SAFE_METHODS else "write"
    return f"{view.resource}:{level}"
