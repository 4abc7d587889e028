"""The ticket list's filters and order (django-filter): what an integration asks for most,
"what changed since I last looked" (updated_since) and a queue's or an agent's open work."""

from django import forms
from django.core.validators import RegexValidator
from django.db.models import F
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from tickets.models import Channel, Ticket

# The list's order when none is asked for, and the tie-break of every order: stable pages.
DEFAULT_ORDER = ("-updated_at", "-id")


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField


class TicketOrdering(filters.OrderingFilter):
    """``ordering`` among updated_at, created_at, sla_due, priority ("-" for descending),
    then by id. Tickets without an SLA due time come last either way, on every database."""

    def filter(self, qs, value):
        if not value:
            return qs.order_by(*DEFAULT_ORDER)
        terms = [self._term(name) for name in value]
        descending = value[0].startswith("-")
        return qs.order_by(*terms, "-id" if descending else "id")

    @staticmethod
    def _term(name: str):
        field = name.lstrip("-")
        if field != "sla_due":
            return name
        due = F(field)
        return due.desc(nulls_last=True) if name.startswith("-") else due.asc(nulls_last=True)


class TicketFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(
        choices=Ticket.Status.choices, help_text="Repeat for several: status=new&status=open."
    )
    queue = filters.CharFilter(field_name="queue__slug", help_text="The queue's slug.")
    channel = filters.ChoiceFilter(choices=Channel.choices)
    customer = IdFilter(field_name="customer_id", help_text="The customer's id.")
    assignee = filters.CharFilter(
        method="filter_assignee",
        validators=[RegexValidator(r"^(none|[0-9]+)$", _('An agent\'s id, or "none".'))],
        help_text='An agent\'s id, or "none" for unassigned tickets.',
    )
    priority = filters.TypedChoiceFilter(choices=Ticket.Priority.choices, coerce=int)
    category = filters.ChoiceFilter(choices=Ticket.Category.choices)
    updated_since = filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO 8601 with an offset: changed at or after.",
    )
    created_since = filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        help_text="ISO 8601 with an offset: opened at or after.",
    )
    reference = filters.CharFilter(field_name="reference", help_text="e.g. MW-000123.")
    ordering = TicketOrdering(
        fields=["updated_at", "created_at", "sla_due", "priority"],
        help_text="updated_at, created_at, sla_due or priority; '-' for descending.",
    )

    class Meta:
        model = Ticket
        fields = []

    def filter_assignee(self, queryset, name, value):
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value))
