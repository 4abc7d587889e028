"""The audit hash chain (accounts.audit): the event time is set before hashing, and the
rows written before the chain existed are chained in, oldest first (created_at, id), so
that every row is covered and `verify_audit` treats an unchained row as forged."""

import django.utils.timezone
from django.db import migrations, models


def chain_existing_rows(apps, schema_editor):
    from accounts.audit import chain_key, compute_hash

    AccountEvent = apps.get_model("accounts", "AccountEvent")
    db = schema_editor.connection.alias
    last = (
        AccountEvent.objects.using(db)
        .filter(sequence__isnull=False)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )
    sequence, previous = last or (0, "")
    key = chain_key()
    unchained = AccountEvent.objects.using(db).filter(sequence__isnull=True)
    for event in unchained.order_by("created_at", "id").iterator(chunk_size=1000):
        sequence += 1
        event.sequence = sequence
        event.previous_hash = previous
        event.hash = previous = compute_hash(event, key=key)
        AccountEvent.objects.using(db).filter(pk=event.pk).update(
            sequence=event.sequence, previous_hash=event.previous_hash, hash=event.hash
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_security_workflows"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accountevent",
            name="created_at",
            field=models.DateTimeField(
                db_index=True,
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="time",
            ),
        ),
        migrations.RunPython(chain_existing_rows, migrations.RunPython.noop),
    ]
