from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Live chat")

    def ready(self):
        # Agent sockets closed when their user's access ends (logout, deactivation, roles).
        # Django's place for this import: the receivers name the auth models, which exist
        # only once every app is ready (not a cycle being dodged).
        from . import revocation

        revocation.connect()
