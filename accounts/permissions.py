"""Who may do what: the one place that names permissions and tells an agent from a customer.

Actions check with these functions; pages and sockets ask the same functions, so a button
is shown exactly when the action behind it would be allowed.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _


def require_permission(user, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied(_("You do not have permission to do this."))
