"""Integration keys from the command line: ``manage.py api_key create|revoke|list``.

    manage.py api_key create --name CRM --scope tickets:write --scope customers:read
    manage.py api_key revoke --name CRM --reason "moved to a new key"
    manage.py api_key list

``create`` prints the key's text on stdout and nothing else, so a deployment script can
capture it (``KEY=$(manage.py api_key create ...)``); it is shown this once, as in the
admin. Every change goes through ``api.actions`` as a named superuser (``--as``, default
the first active one), so the key records who made or revoked it. ``list`` never shows a
secret: only the prefix that finds the row.
"""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.actions import create_key, revoke_key
from api.models import ApiKey, Scope


def _days(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ValueError(value)
    return int(value)


class Command(BaseCommand):
    help = "Create, revoke or list the REST API's integration keys."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="command", required=True)
        create = commands.add_parser("create", help="Make a key; prints its text once.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            choices=Scope.values,
            help="A scope the key holds (repeat for more).",
        )
        create.add_argument("--expires-days", type=_days, help="Days until the key stops working.")
        revoke = commands.add_parser("revoke", help="Revoke a key by its name.")
        revoke.add_argument("--name", required=True)
        revoke.add_argument("--reason", required=True)
        commands.add_parser("list", help="Every key: name, prefix, scopes, last use, state.")
        for sub in (create, revoke):
            sub.add_argument(
                "--as",
                dest="as_user",
                metavar="USERNAME",
                help="The superuser the change is recorded as (default: the first active one).",
            )

    def handle(self, *args, command, **options):
        try:
            if command == "create":
                self._create(**options)
            elif command == "revoke":
                self._revoke(**options)
            else:
                self._list()
        except (ValidationError, PermissionDenied) as refused:
            raise CommandError(" ".join(_messages(refused))) from refused

    def _create(self, *, name, scopes, expires_days, as_user, **_options):
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        key, text = create_key(
            acting_user=_superuser(as_user), name=name, scopes=scopes, expires_at=expires_at
        )
        self.stderr.write(f"Key {key.name!r} ({key.prefix}) created; its text is shown once.")
        self.stdout.write(text)

    def _revoke(self, *, name, reason, as_user, **_options):
        key = ApiKey.objects.filter(name=name).first()
        if key is None:
            raise CommandError(f"No key is named {name!r}.")
        if key.revoked_at is not None:
            raise CommandError(f"Key {name!r} was already revoked on {key.revoked_at:%Y-%m-%d}.")
        revoke_key(key, acting_user=_superuser(as_user), reason=reason)
        self.stdout.write(f"Key {name!r} ({key.prefix}) revoked.")

    def _list(self):
        now = timezone.now()
        self.stdout.write("\t".join(["name", "prefix", "scopes", "last used", "state"]))
        for key in ApiKey.objects.order_by("name"):
            last_used = (
                key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
            )
            self.stdout.write(
                "\t".join([key.name, key.prefix, ",".join(key.scopes), last_used, _state(key, now)])
            )


def _superuser(username: str | None):
    users = get_user_model().objects.filter(is_superuser=True, is_active=True)
    user = users.filter(username=username).first() if username else users.order_by("pk").first()
    if user is None:
        who = f"{username!r} is not an active superuser" if username else "no active superuser"
        raise CommandError(f"Keys are made by a superuser, and {who}.")
    return user


def _state(key: ApiKey, now) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _messages(error) -> list[str]:
    return list(getattr(error, "messages", None) or [str(error)])
