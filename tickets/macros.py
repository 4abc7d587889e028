"""Macros rendered for a ticket: the canned reply's text in the customer's language with
its placeholders filled, for the ticket page's reply form and the chat console.

The customer's language is what their record says (accounts.Customer.language, read
through mywallet_support.mail.customer_language as every message to them is); a ticket
with no customer gets English. The result is plain text: it goes into
a reply box and is escaped wherever it is shown, so a customer's name holding markup stays
text. A placeholder the macro's validation would refuse (tickets.models.Macro.clean) but
that reached the database anyway is left as it was typed, visible to the agent, never a
crash.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.confirmations import agent_name
from mywallet_support.mail import customer_language

from .models import MACRO_PLACEHOLDER, Macro, Ticket


@dataclass(frozen=True)
class RenderedMacro:
    id: int
    title: str
    text: str
    status: str


def macros_for(ticket: Ticket) -> QuerySet[Macro]:
    """The active macros that fit the ticket: its queue's and the general ones."""
    fits = Q(queue=None) if ticket.queue_id is None else Q(queue=None) | Q(queue=ticket.queue_id)
    return Macro.objects.filter(fits, active=True)


def placeholder_values(ticket: Ticket, *, agent) -> dict[str, str]:
    customer = ticket.customer
    return {
        "customer_name": (customer.name if customer else "") or "",
        "ticket_reference": ticket.reference or "",
        "agent_name": agent_name(agent) if agent else "",
        "queue": ticket.queue.name if ticket.queue_id else "",
    }


def render_macro(macro: Macro, ticket: Ticket, *, agent) -> RenderedMacro:
    """``macro`` for ``ticket``, in its customer's language, as ``agent`` would send it."""
    return _render(macro, _language_of(ticket), placeholder_values(ticket, agent=agent))


def rendered_macros(ticket: Ticket, *, agent) -> list[RenderedMacro]:
    """Every macro that fits the ticket, rendered (one query)."""
    language = _language_of(ticket)
    values = placeholder_values(ticket, agent=agent)
    return [_render(macro, language, values) for macro in macros_for(ticket)]


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each known placeholder replaced; an unknown one left as typed. A
    placeholder with no value here (a customer with no name) goes with the space before
    it, so "Hello {customer_name}," reads "Hello,"."""

    def value(match) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    for name, known in values.items():
        if not known:
            text = text.replace(f" {{{name}}}", "")
    return MACRO_PLACEHOLDER.sub(value, text)


def _render(macro: Macro, language: str, values: dict[str, str]) -> RenderedMacro:
    chinese = language != "en"
    body = macro.body_zh if chinese else macro.body_en
    return RenderedMacro(
        id=macro.pk,
        title=macro.title,
        text=fill(body, values),
        status=macro.status,
    )


def _language_of(ticket: Ticket) -> str:
    customer = ticket.customer
    return customer_language(customer.language) if customer else "en"
