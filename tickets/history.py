"""The ticket page's history: each TicketEvent as one sentence in the agent's language,
"Li Wei rated 4/5: 'quick help'", "agent changed the status: New → Open, with the first
answer", never the event's raw data.

One sentence per kind (`SENTENCES`, checked for every choice by the tests); ``summary`` is
the part the event's data adds (the change, the address, the score), ``sentence`` the whole
line. A fixed number of queries whatever the number of events: the events, then at most
one for each kind of object they name (agents, queues, wallets, transactions).
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.event_text import staff_name
from mywallet_support.masking import mask_email
from mywallet_support.pii import mask_text

from .models import Channel, Queue, SensitiveValue, Ticket, TicketEvent

Kind = TicketEvent.Kind

# Each kind's sentence: %(actor)s is who did it, %(summary)s what the event's data adds.
SENTENCES = {
    Kind.CREATED: gettext_lazy("%(actor)s opened the ticket: %(summary)s"),
    Kind.MESSAGE: gettext_lazy("%(actor)s wrote (%(summary)s)"),
    Kind.REPLY: gettext_lazy("%(actor)s replied (%(summary)s)"),
    Kind.NOTE: gettext_lazy("%(actor)s added an internal note (%(summary)s)"),
    Kind.ASSIGNED: gettext_lazy("%(actor)s changed the assignee: %(summary)s"),
    Kind.STATUS: gettext_lazy("%(actor)s changed the status: %(summary)s"),
    Kind.REOPENED: gettext_lazy("%(actor)s reopened the ticket: %(summary)s"),
    Kind.CHANGED: gettext_lazy("%(actor)s changed %(summary)s"),
    Kind.CHAT_ENDED: gettext_lazy("%(actor)s ended the chat"),
    Kind.RATED: gettext_lazy("%(actor)s rated %(summary)s"),
    Kind.CUSTOMER_MERGED: gettext_lazy("%(actor)s merged customers: %(summary)s"),
    Kind.CC_PROPOSED: gettext_lazy("%(actor)s proposed a Cc: %(summary)s"),
    Kind.CC_ACCEPTED: gettext_lazy("%(actor)s accepted the Cc %(summary)s"),
    Kind.CC_REMOVED: gettext_lazy("%(actor)s removed the Cc %(summary)s"),
    Kind.MERGED_INTO: gettext_lazy("%(actor)s merged this ticket into %(summary)s"),
    Kind.MERGED_FROM: gettext_lazy("%(actor)s merged %(summary)s into this ticket"),
    Kind.ROUTED: gettext_lazy("%(actor)s routed the ticket %(summary)s"),
    Kind.SLA_WARNING: gettext_lazy("%(actor)s warned that an SLA is about to break: %(summary)s"),
    Kind.SLA_BREACHED: gettext_lazy("%(actor)s recorded an SLA breach: %(summary)s"),
    Kind.REMINDED: gettext_lazy("%(actor)s reminded the customer %(summary)s"),
    Kind.VALUE_REVEALED: gettext_lazy("%(actor)s revealed personal data: %(summary)s"),
    Kind.PII_WARNED: gettext_lazy(
        "%(actor)s told the customer not to send full card or ID numbers (%(summary)s)"
    ),
}

# A rating's comment in its history line; the ticket's top shows it too.
COMMENT_CHARS = 120

# Kinds that, without an agent, the customer did (else the system did).
_BY_CUSTOMER = {Kind.MESSAGE, Kind.RATED, Kind.CC_PROPOSED}


@dataclass(frozen=True)
class HistoryEntry:
    event: TicketEvent
    summary: str
    sentence: str


def ticket_history(ticket: Ticket, *, full_contacts: bool = False) -> list[HistoryEntry]:
    """The ticket's events, oldest first, each as a sentence; the addresses the Cc events
    name are masked unless ``full_contacts`` (an agent who has earned them:
    workspace.admin.contacts)."""
    events = list(ticket.events.select_related("actor").order_by("created_at", "id"))
    named = _Named.read(events)
    named.full_contacts = full_contacts
    customer = ticket.customer.name or _("The customer")
    entries = []
    for event in events:
        summary = _summary(event, named)
        sentence = SENTENCES[event.kind] % {
            "actor": _actor(event, customer),
            "summary": summary,
        }
        entries.append(HistoryEntry(event=event, summary=summary, sentence=sentence))
    return entries


def _actor(event: TicketEvent, customer: str) -> str:
    if event.actor is not None:
        return staff_name(event.actor)
    by = (event.data or {}).get("by")
    if event.kind in _BY_CUSTOMER or by in ("customer", "mail"):
        return customer
    if event.kind == Kind.CREATED and (event.data or {}).get("channel") not in ("phone", "api"):
        return customer
    return _("The system")


@dataclass
class _Named:
    """The objects a history names, read once for all its events: ``objects`` by model and
    primary key; ``queues`` by slug (a transfer to a queue names it so)."""

    objects: dict = field(default_factory=dict)
    queues: dict = field(default_factory=dict)
    full_contacts: bool = False  # addresses in full, else masked

    @classmethod
    def read(cls, events: list[TicketEvent]) -> "_Named":
        wanted: dict[type, set] = {}
        slugs = set()
        for event in events:
            data = event.data or {}
            if event.kind == TicketEvent.Kind.ASSIGNED:
                _want(wanted, get_user_model(), (data.get("from"), data.get("to")))
                if data.get("queue"):
                    slugs.add(data["queue"])
            elif event.kind == TicketEvent.Kind.ROUTED and data.get("queue"):
                slugs.add(data["queue"])
            elif event.kind == TicketEvent.Kind.CHANGED:
                for name, values in data.items():
                    detail = _detail_field(name)
                    if detail is not None and detail.is_relation and isinstance(values, list):
                        _want(wanted, detail.related_model, values)
        named = cls()
        queue_ids = wanted.pop(Queue, set())
        if queue_ids or slugs:  # both kinds of key in one query
            queues = list(Queue.objects.filter(Q(pk__in=queue_ids) | Q(slug__in=slugs)))
            named.objects[Queue] = {queue.pk: queue for queue in queues}
            named.queues = {queue.slug: queue for queue in queues}
        for model, ids in wanted.items():
            named.objects[model] = model._default_manager.in_bulk(ids)
        return named

    def get(self, model, pk):
        return self.objects.get(model, {}).get(pk)


def _want(wanted: dict, model, values) -> None:
    ids = {value for value in values if isinstance(value, int) and not isinstance(value, bool)}
    if ids:
        wanted.setdefault(model, set()).update(ids)


def _detail_field(name: str):
    try:
        return Ticket._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _summary(event: TicketEvent, named: _Named) -> str:
    data = event.data or {}
    summarise = _SUMMARIES.get(event.kind)
    if summarise is not None:
        return summarise(data, named)
    if "message" in data:
        return _("message #%(id)s") % {"id": data["message"]}
    return ""


def _status_summary(data: dict, named: _Named) -> str:
    change = f"{_status_label(data.get('from'))} → {_status_label(data.get('to'))}"
    if data.get("by") == "customer":
        return _("%(change)s, when the customer wrote again") % {"change": change}
    if data.get("by") == "answer":
        return _("%(change)s, with the first answer") % {"change": change}
    if data.get("by") == "auto" and data.get("days"):
        return _("%(change)s, automatically after %(days)s days") % {
            "change": change,
            "days": data["days"],
        }
    return change


def _assigned_summary(data: dict, named: _Named) -> str:
    users = named.objects.get(get_user_model(), {})
    text = f"{_user_label(users, data.get('from'))} → {_user_label(users, data.get('to'))}"
    if data.get("queue"):
        queue = named.queues.get(data["queue"])
        text = _("%(change)s, to the queue %(queue)s") % {
            "change": text,
            "queue": queue.name if queue is not None else data["queue"],
        }
    if data.get("by") == "auto":
        return _("%(change)s, automatically") % {"change": text}
    if data.get("by") == "answer":
        return _("%(change)s, by answering") % {"change": text}
    return text


def _created_summary(data: dict, named: _Named) -> str:
    channel = data.get("channel")
    text = str(Channel(channel).label) if channel in Channel.values else ""
    if data.get("follows_up"):
        text = _("%(channel)s, follows up %(reference)s") % {
            "channel": text,
            "reference": data["follows_up"],
        }
    return text


def _merged_summary(data: dict, named: _Named) -> str:
    return _("customer #%(source)s merged into #%(target)s") % {
        "source": data.get("source"),
        "target": data.get("target"),
    }


def _changed_summary(data: dict, named: _Named) -> str:
    """Each field's label with its old and new value as an agent reads them (choice labels,
    the names of related objects): "priority: Normal → High; queue: — → Security"."""
    parts = []
    for name, values in sorted(data.items(), key=_in_model_order):
        detail = _detail_field(name)
        label = str(detail.verbose_name) if detail is not None else name
        old, new = values if isinstance(values, list) and len(values) == 2 else (None, values)
        parts.append(f"{label}: {_value(detail, old, named)} → {_value(detail, new, named)}")
    return "; ".join(parts)


# PostgreSQL's jsonb keeps keys in an order of its own: fields are named in the model's.
_FIELD_ORDER = {field.name: position for position, field in enumerate(Ticket._meta.fields)}


def _in_model_order(item) -> tuple:
    return (_FIELD_ORDER.get(item[0], len(_FIELD_ORDER)), item[0])


def _value(detail, value, named: _Named) -> str:
    if value is None or value == "":
        return "—"
    if detail is not None and detail.is_relation:
        found = named.get(detail.related_model, value)
        return str(found) if found is not None else f"#{value}"
    if detail is not None and detail.choices:
        return str(dict(detail.flatchoices).get(value, value))
    return mask_text(str(value))  # a subject is the sender's words


def _chat_ended_summary(data: dict, named: _Named) -> str:
    if data.get("by") == "customer":
        return _("by the customer")
    if data.get("by") == "agent":
        return _("by the agent")
    return ""


def stars(score) -> str:
    """A 1-to-5 score as a rating reads: "★★★★☆ 4/5" ("" for none)."""
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        return ""
    return "★" * score + "☆" * (5 - score) + " " + _("%(score)s/5") % {"score": score}


def _rated_summary(data: dict, named: _Named) -> str:
    rating = stars(data.get("score"))
    if data.get("comment"):
        comment = Truncator(data["comment"]).chars(COMMENT_CHARS)
        return _("%(rating)s: “%(comment)s”") % {"rating": rating, "comment": comment}
    return rating


def _ticket_merge_summary(data: dict, named: _Named) -> str:
    return data.get("reference", "")


def _cc_summary(data: dict, named: _Named) -> str:
    """The address (masked unless the reader has earned it), and for what mail did, the
    message that did it."""
    address = data.get("address", "")
    if not named.full_contacts:
        address = mask_email(address)
    if data.get("by") == "mail" and data.get("message"):
        return _("%(address)s, from message #%(id)s") % {"address": address, "id": data["message"]}
    return address


def _routed_summary(data: dict, named: _Named) -> str:
    queue = named.queues.get(data.get("queue"))
    return _("to %(queue)s by rule %(rule)s") % {
        "queue": queue.name if queue is not None else data.get("queue"),
        "rule": data.get("rule", ""),
    }


def _sla_summary(data: dict, named: _Named) -> str:
    due = parse_datetime(data.get("due") or "")
    values = {
        "target": _("first response")
        if data.get("target") == "first_response"
        else _("resolution"),
        "due": date_format(timezone.localtime(due), "SHORT_DATETIME_FORMAT") if due else "—",
        "notified": ", ".join(data.get("notified") or ()) or _("nobody"),
    }
    return _("%(target)s due %(due)s; supervisors told: %(notified)s") % values


def _reminded_summary(data: dict, named: _Named) -> str:
    return _("after %(days)s days without an answer, message #%(id)s") % {
        "days": data.get("days"),
        "id": data.get("message"),
    }


def _revealed_summary(data: dict, named: _Named) -> str:
    """Which value (its kind and masked form, never the value) and why."""
    what = _("%(kind)s %(masked)s in message #%(id)s") % {
        "kind": _kind_label(data.get("kind")),
        "masked": data.get("masked", ""),
        "id": data.get("message"),
    }
    if data.get("reason"):
        return _("%(what)s: “%(reason)s”") % {
            "what": what,
            "reason": Truncator(data["reason"]).chars(COMMENT_CHARS),
        }
    return _("%(what)s, with a strong verification") % {"what": what}


def _kind_label(kind) -> str:
    labels = dict(SensitiveValue.Kind.choices)
    return str(labels[kind]) if kind in labels else str(kind or "")


_SUMMARIES = {
    TicketEvent.Kind.VALUE_REVEALED: _revealed_summary,
    TicketEvent.Kind.ROUTED: _routed_summary,
    TicketEvent.Kind.SLA_WARNING: _sla_summary,
    TicketEvent.Kind.SLA_BREACHED: _sla_summary,
    TicketEvent.Kind.REMINDED: _reminded_summary,
    TicketEvent.Kind.STATUS: _status_summary,
    TicketEvent.Kind.REOPENED: _status_summary,
    TicketEvent.Kind.ASSIGNED: _assigned_summary,
    TicketEvent.Kind.CREATED: _created_summary,
    TicketEvent.Kind.CUSTOMER_MERGED: _merged_summary,
    TicketEvent.Kind.CHANGED: _changed_summary,
    TicketEvent.Kind.CHAT_ENDED: _chat_ended_summary,
    TicketEvent.Kind.RATED: _rated_summary,
    TicketEvent.Kind.CC_PROPOSED: _cc_summary,
    TicketEvent.Kind.CC_ACCEPTED: _cc_summary,
    TicketEvent.Kind.CC_REMOVED: _cc_summary,
    TicketEvent.Kind.MERGED_INTO: _ticket_merge_summary,
    TicketEvent.Kind.MERGED_FROM: _ticket_merge_summary,
}


def _status_label(value) -> str:
    return str(Ticket.Status(value).label) if value in Ticket.Status.values else str(value or "")


def _user_label(users: dict, pk) -> str:
    if pk is None:
        return _("nobody")
    user = users.get(pk)
    return staff_name(user) if user is not None else f"#{pk}"
