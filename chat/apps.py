from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = _("Live chat")

    def ready(self):
        # Agent sockets closed when their user's access ends (logout, deactivation, roles).
        # Django's place for this import: the receivers name the auth models, which exist
        # only once every app is ready (not a cycle being dodged).
        from . import actions, revocation

        revocation.connect()
        # A chat ends when its ticket is solved or closed anywhere (the ticket page too),
        # so its customer is asked for a rating.
        actions.follow_ticket_status()
