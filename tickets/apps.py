from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Tickets")

    def ready(self):
        # Models (and so the search module) load only once the apps are ready.
        from . import live
        from .models import Ticket
        from .search import ensure_indexes

        def announce(sender, instance, **kwargs):
            """A ticket saved (opened, assigned, its status or details changed): the
            inbox hears of it after commit (tickets.live)."""
            live.tickets_changed([instance.pk])

        def search_indexes(sender, using, **kwargs):
            """After every migrate: the search's SQLite triggers, which a table rebuild by
            a later migration drops, are put back (tickets.search.ensure_indexes)."""
            ensure_indexes(connections[using])

        post_migrate.connect(search_indexes, sender=self, weak=False)
        post_save.connect(announce, sender=Ticket, weak=False)
