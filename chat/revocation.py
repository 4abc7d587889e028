"""Agent sockets cut off when their user's right to them ends: the signal receivers.

A socket checks its agent at connect and again on frames at most once a second
(chat.access); these receivers make the change reach an open socket at once, even an idle
one. Each sends, after commit, an ``agent.revoke`` event to the user's own group
(chat.live.agent_group, which every console of theirs joins):

- ``{"session": <key>}`` on logout (``user_logged_out``): the sockets of that session close
  with 4401 (the session is flushed right after the signal, so it is named, not re-read);
  the agent's other sessions are not signed out and keep theirs.
- ``{"session": None}`` when the user is saved with a change that may end their access (a
  plain save, or one of is_active, is_staff, is_superuser, password), deleted, loses a
  group or a permission, a group of theirs loses a permission or is deleted, or a
  two-factor device of theirs is deleted: each of their sockets checks again at once
  (chat.access.current_agent) and closes if it no longer holds.

Changes that send no signal (a queryset ``update``, a session deleted in the store) are
caught by the frame check. Wired in ChatConfig.ready.
"""

from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django_otp.models import Device

from . import live

REVOKE = "agent.revoke"
# A save naming only other fields (last_login at sign-in, say) cannot end access.
ACCESS_FIELDS = frozenset({"is_active", "is_staff", "is_superuser", "password"})


def recheck_on_commit(user_ids, *, session: str | None = None) -> None:
    """After commit, tell each of these users' sockets to check again (or, with
    ``session``, the sockets of that session to close)."""
    events = [
        (live.agent_group(user_id), {"type": REVOKE, "session": session})
        for user_id in sorted({int(pk) for pk in user_ids if pk is not None})
    ]
    live.announce_on_commit(events)


def _logged_out(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if user is not None and session is not None and session.session_key:
        recheck_on_commit([user.pk], session=session.session_key)


def _user_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and not ACCESS_FIELDS & set(update_fields)):
        return
    recheck_on_commit([instance.pk])


def _user_deleted(sender, instance, **kwargs) -> None:
    recheck_on_commit([instance.pk])


def _group_members(group_ids) -> list[int]:
    User = get_user_model()
    return list(User.objects.filter(groups__in=list(group_ids)).values_list("pk", flat=True))


def _user_m2m_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A user's groups or own permissions, changed from either side. Only a loss matters;
    a clear from the group's (or permission's) side is read before it happens."""
    if not reverse:
        if action in ("post_remove", "post_clear"):
            recheck_on_commit([instance.pk])
    elif action == "post_remove":
        recheck_on_commit(pk_set or ())
    elif action == "pre_clear":
        recheck_on_commit(instance.user_set.values_list("pk", flat=True))


def _group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """A group's permissions, changed from the group's side or the permission's."""
    if action not in ("post_remove", "pre_clear"):
        return
    if not reverse:
        recheck_on_commit(_group_members([instance.pk]))
    elif action == "post_remove":
        recheck_on_commit(_group_members(pk_set or ()))
    else:
        recheck_on_commit(_group_members(instance.group_set.values_list("pk", flat=True)))


def _group_deleted(sender, instance, **kwargs) -> None:
    recheck_on_commit(_group_members([instance.pk]))


def _device_deleted(sender, instance, **kwargs) -> None:
    if isinstance(instance, Device):
        recheck_on_commit([instance.user_id])


def connect() -> None:
    User = get_user_model()
    uid = "chat.revocation"
    user_logged_out.connect(_logged_out, dispatch_uid=f"{uid}.logout")
    post_save.connect(_user_saved, sender=User, dispatch_uid=f"{uid}.user_saved")
    post_delete.connect(_user_deleted, sender=User, dispatch_uid=f"{uid}.user_deleted")
    m2m_changed.connect(_user_m2m_changed, sender=User.groups.through, dispatch_uid=f"{uid}.groups")
    m2m_changed.connect(
        _user_m2m_changed, sender=User.user_permissions.through, dispatch_uid=f"{uid}.perms"
    )
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid=f"{uid}.group_perms",
    )
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid=f"{uid}.group_deleted")
    post_delete.connect(_device_deleted, dispatch_uid=f"{uid}.device_deleted")
