from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Customers and wallets")

    def ready(self):
        # Django's place for this import: roles loads the auth models, which exist only
        # once every app is ready (not a cycle being dodged).
        from .agent_sign_in import connect_signals
        from .roles import ensure_roles

        post_migrate.connect(ensure_roles, dispatch_uid="accounts.ensure_roles")
        connect_signals()
