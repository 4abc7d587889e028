"""Fill the inbox's columns for the tickets that existed before them: the latest message's
preview (notes excluded, as thread.append does), and a subject from the customer's first
line for chat tickets that were all titled "Web chat" (or 网页聊天 under Chinese)."""

from django.db import migrations

from tickets.text import clipped, html_to_text, title_from

GENERIC_CHAT_SUBJECTS = ("", "Web chat", "网页聊天")


def fill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    length = Ticket._meta.get_field("last_message_preview").max_length
    for ticket in Ticket.objects.only("pk", "subject", "channel").iterator(chunk_size=500):
        thread = Message.objects.filter(ticket_id=ticket.pk).exclude(direction="note")
        latest = thread.order_by("-created_at", "-id").only("text", "html").first()
        if latest is None:
            continue
        changed = {"last_message_preview": clipped(latest.text or html_to_text(latest.html), length)}
        if ticket.channel == "chat" and ticket.subject in GENERIC_CHAT_SUBJECTS:
            first = thread.filter(direction="inbound").order_by("created_at", "id").first()
            title = title_from(first.text) if first is not None else ""
            if title:
                changed["subject"] = title
        Ticket.objects.filter(pk=ticket.pk).update(**changed)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0011_inbox")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop, elidable=True)]
