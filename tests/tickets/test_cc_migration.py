"""Migration tickets 0004_email_trust: the Cc taken silently from mail before becomes a
proposal, and replies stop going to it until an agent accepts it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tickets", "0003_event_kinds")]
AFTER = [("tickets", "0004_email_trust")]


def latest():
    """Every app's newest migration: where the database must be left for the tests after."""
    loader = MigrationExecutor(connection).loader
    return loader.graph.leaf_nodes()


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_cc_becomes_proposed_and_the_reverse_restores_it():
    old_apps = migrate(BEFORE)
    customer = old_apps.get_model("accounts", "Customer").objects.create(name="Li Wei")
    Ticket = old_apps.get_model("tickets", "Ticket")
    copied = Ticket.objects.create(
        customer=customer, channel="email", cc=["attacker@evil.example", "Wife <Wife@Example.com>"]
    )
    alone = Ticket.objects.create(customer=customer, channel="email", cc=[])

    Ticket = migrate(AFTER).get_model("tickets", "Ticket")
    copied, alone = Ticket.objects.get(pk=copied.pk), Ticket.objects.get(pk=alone.pk)
    assert copied.cc == []
    assert copied.cc_proposed == ["attacker@evil.example", "wife@example.com"]
    assert (alone.cc, alone.cc_proposed) == ([], [])

    Ticket = migrate(BEFORE).get_model("tickets", "Ticket")
    assert Ticket.objects.get(pk=copied.pk).cc == ["attacker@evil.example", "wife@example.com"]
    migrate(latest())
