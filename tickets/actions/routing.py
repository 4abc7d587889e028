"""Routing rules: which queue a new ticket goes to (tickets.RoutingRule, kept by
supervisors in the workspace).

The first active rule, by order, whose conditions all hold wins: its channel, the support
address an email was sent to, the category the channel gave, and any one of its keywords
in the subject or the text. Keywords are one a line and case-insensitive; a Latin keyword
matches whole words ("hacked", not "unhacked"), a Chinese one anywhere in the text (Chinese
has no spaces between words). A rule may also set the category (only of a ticket without
one, "other") and the priority (only upwards). Intake reads the rules once a batch; the
ticket's history says which rule routed it.
"""

import re
from dataclasses import dataclass
from functools import cached_property

from ..models import Queue, RoutingRule, Ticket, TicketEvent


def keyword_pattern(keyword: str) -> re.Pattern:
    """A keyword as a case-insensitive pattern: whole words when it is Latin text."""
    escaped = re.escape(keyword)
    if keyword.isascii():
        escaped = rf"(?<![a-z0-9]){escaped}(?![a-z0-9])"
    return re.compile(escaped, re.IGNORECASE)


def keywords(rule: RoutingRule) -> list[str]:
    return [line.strip() for line in rule.keywords.splitlines() if line.strip()]


@dataclass(frozen=True)
class Routing:
    """Where a ticket goes and what it becomes: the rule's queue, category, priority."""

    rule: RoutingRule
    queue: Queue
    category: str
    priority: int


class Router:
    """The active rules, read once, matched against any number of new tickets."""

    def __init__(self, rules):
        self.rules = list(rules)

    @classmethod
    def load(cls) -> "Router":
        return cls(RoutingRule.objects.filter(active=True).select_related("queue"))

    @cached_property
    def _patterns(self) -> dict[int, list[re.Pattern]]:
        return {rule.pk: [keyword_pattern(word) for word in keywords(rule)] for rule in self.rules}

    def match(self, *, channel: str, text: str, to=(), category: str = "") -> RoutingRule | None:
        """The first rule whose every condition holds, or None."""
        addresses = {address.casefold() for address in to}
        for rule in self.rules:
            if rule.channel and rule.channel != channel:
                continue
            if rule.support_address and rule.support_address.casefold() not in addresses:
                continue
            if rule.category and rule.category != category:
                continue
            patterns = self._patterns[rule.pk]
            if patterns and not any(pattern.search(text) for pattern in patterns):
                continue
            return rule
        return None

    def route(self, *, channel, text, to=(), category, priority) -> Routing | None:
        """Where a new ticket with these details goes, when a rule says so."""
        rule = self.match(channel=channel, text=text, to=to, category=category)
        if rule is None:
            return None
        if rule.set_category and category == Ticket.Category.OTHER:
            category = rule.set_category
        if rule.set_priority:
            priority = max(priority, rule.set_priority)
        return Routing(rule=rule, queue=rule.queue, category=category, priority=priority)


def routed_event(ticket: Ticket, route: Routing) -> TicketEvent:
    """The history line "routed to <queue> by rule <name>" (by the system)."""
    return TicketEvent(
        ticket=ticket,
        kind=TicketEvent.Kind.ROUTED,
        data={"queue": route.queue.slug, "rule": route.rule.name, "rule_id": route.rule.pk},
    )
