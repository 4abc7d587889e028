"""The ticket list as an inbox: saved views as tabs with their counts, one-line rows that
fit at 1366 px (subject and the latest message's preview, customer, channel icon, status,
priority, SLA due coloured, assignee, last activity), and bulk actions through the
tickets actions.

The views, their order and counts are the tickets side's (tickets.inbox); this module
only shows them. A saved view is a list filter (``?view=``), so the admin keeps it in
every link it builds (sorting, other filters, pagination) and refuses nothing.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from mywallet_support.pii import mask_text
from tickets import actions, inbox
from tickets.models import Channel, Queue, Ticket
from tickets.sla import state_at

from ..forms.tickets import assignable_agents
from .common import run_each

# One small glyph per channel (24x24, drawn with the text colour), named in its title.
_GLYPHS = {
    Channel.EMAIL: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3 7l9 6 9-6"/>',
    Channel.CHAT: '<path d="M4 4h16v11H10l-5 4v-4H4z"/>',
    Channel.PHONE: (
        '<path d="M6 3h3l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v3a2 2 0 0 1-2 2'
        'A16 16 0 0 1 4 5a2 2 0 0 1 2-2z"/>'
    ),
    Channel.WECHAT: (
        '<path d="M9 4c4 0 7 2.5 7 5.5S13 15 9 15l-3 2 .5-2.7C4.4 13.2 2 11.5 2 9.5'
        ' 2 6.5 5 4 9 4z"/><path d="M17 11c2.8.4 5 2.3 5 4.5 0 1.4-.8 2.6-2 3.4l.4 2.1'
        '-2.4-1.4c-2.6.5-5.4-.6-6.5-2.6"/>'
    ),
    Channel.WEIBO: (
        '<ellipse cx="10" cy="15" rx="8" ry="5"/><circle cx="9.5" cy="15.5" r="2"/>'
        '<path d="M15 4a6 6 0 0 1 6 6M15 7.5a2.5 2.5 0 0 1 2.5 2.5"/>'
    ),
}
_OTHER_GLYPH = '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c3 3 3 15 0 18"/>'


class ViewFilter(admin.SimpleListFilter):
    """The saved view (tickets.inbox.VIEWS), shown as the tabs above the list: the
    sidebar shows nothing for it (its template is empty)."""

    title = _("view")
    parameter_name = "view"
    template = "admin/tickets/ticket/view_filter.html"

    def lookups(self, request, model_admin):
        return [(view.slug, view.label) for view in inbox.VIEWS]

    def queryset(self, request, queryset):
        return inbox.in_view(queryset, chosen_view(request), request.user, timezone.now())


def chosen_view(request) -> str:
    """The view asked for; without one, all open tickets, or all tickets when the agent
    searches or filters by status (a search looks at solved tickets too)."""
    asked = request.GET.get(ViewFilter.parameter_name)
    if asked in inbox.BY_SLUG:
        return asked
    narrowed = request.GET.get("q") or "status__exact" in request.GET
    return inbox.ALL if narrowed else inbox.DEFAULT_VIEW


class InboxPaginator(Paginator):
    """Counts no further than tickets.inbox.COUNT_CAP (the pages beyond are reached by a
    narrower view, a filter or a search): the admin's COUNT(*) of a view of 50,000 open
    tickets would read them all on every page."""

    @cached_property
    def count(self):
        return self.object_list.order_by()[: inbox.COUNT_CAP].count()


class InboxChangeList(ChangeList):
    """The rows are read from the tickets table alone, so the database walks the order's
    index and stops at a page (joined to the customers, SQLite sorted every open ticket
    instead); their customers and assignees come in two small queries."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.select_related(None).prefetch_related("customer", "assignee")


class InboxActionForm(ActionForm):
    """The bulk actions' choices, beside the action menu: whom to assign, which status,
    queue or priority to set (each used by its own action)."""

    assignee = forms.ModelChoiceField(
        label=_("Agent"), queryset=assignable_agents(), required=False, empty_label=_("Agent…")
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Status…")),
            (Ticket.Status.OPEN, Ticket.Status.OPEN.label),
            (Ticket.Status.PENDING, Ticket.Status.PENDING.label),
            (Ticket.Status.SOLVED, Ticket.Status.SOLVED.label),
        ],
    )
    queue = forms.ModelChoiceField(
        label=_("Queue"), queryset=Queue.objects.all(), required=False, empty_label=_("Queue…")
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Priority…")), *Ticket.Priority.choices],
    )


def relative(moment, now) -> tuple[str, bool]:
    """How far ``moment`` is from ``now`` in the largest unit that fits ('2 h', '5 min',
    '3 d'), and whether it is ahead: the caller says "in 2 h", "3 h late" or "5 min ago"."""
    seconds = (moment - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        amount = ngettext("%(n)d min", "%(n)d min", minutes) % {"n": minutes}
    elif minutes < 48 * 60:
        amount = ngettext("%(n)d h", "%(n)d h", minutes // 60) % {"n": minutes // 60}
    else:
        amount = ngettext("%(n)d d", "%(n)d d", minutes // 1440) % {"n": minutes // 1440}
    return amount, seconds >= 0


def exact(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


class InboxMixin:
    """What TicketAdmin's list is: the inbox (see the module)."""

    list_display = [
        "subject_cell",
        "customer_cell",
        "channel_icon",
        "status_badge",
        "priority_chip",
        "sla_cell",
        "assignee_cell",
        "activity_cell",
    ]
    list_display_links = ["subject_cell"]
    list_filter = [ViewFilter, "queue", "channel", "category", "priority", "assignee"]
    list_select_related = False  # see InboxChangeList
    ordering = inbox.ORDER
    paginator = InboxPaginator
    show_full_result_count = False
    action_form = InboxActionForm
    actions = [
        "assign_to_me",
        "assign_to",
        "set_status",
        "set_queue",
        "set_priority",
        "merge_selected",  # TicketMergeMixin's
    ]

    def get_changelist(self, request, **kwargs):
        return InboxChangeList

    def changelist_view(self, request, extra_context=None):
        chosen = chosen_view(request)
        numbers = inbox.counts(self.get_queryset(request), request.user, timezone.now())
        tabs = [
            {
                "slug": view.slug,
                "label": view.label,
                "count": numbers[view.slug],
                "capped": numbers[view.slug] >= inbox.COUNT_CAP,
                "current": view.slug == chosen,
            }
            for view in inbox.VIEWS
        ]
        context = {
            "title": gettext("Inbox"),
            "inbox_tabs": tabs,
            "count_cap": inbox.COUNT_CAP - 1,
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    # --- the columns ------------------------------------------------------------------------

    @admin.display(description=_("subject"))
    def subject_cell(self, obj):
        subject = obj.subject or obj.get_channel_display()
        return format_html(
            '<span class="mw-row-subject"><span class="mw-ref">{}</span>{}</span>'
            '<span class="mw-row-preview">{}</span>',
            obj.reference or "",
            mask_text(subject),
            mask_text(obj.last_message_preview),
        )

    @admin.display(description=_("customer"), ordering="customer__name")
    def customer_cell(self, obj):
        return format_html('<span class="mw-nowrap">{}</span>', obj.customer)  # or "Customer #7"

    @admin.display(description="")
    def channel_icon(self, obj):
        glyph = _GLYPHS.get(obj.channel, _OTHER_GLYPH)
        return format_html(
            '<span class="mw-channel-icon mw-channel-{}" title="{}" role="img" aria-label="{}">'
            '<svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">{}</svg></span>',
            obj.channel,
            obj.get_channel_display(),
            obj.get_channel_display(),
            mark_safe(glyph),  # noqa: S308 (our own constant markup)
        )

    @admin.display(description=_("priority"), ordering="priority")
    def priority_chip(self, obj):
        return format_html(
            '<span class="mw-badge mw-priority-{}">{}</span>',
            obj.priority,
            obj.get_priority_display(),
        )

    @admin.display(description=_("SLA due"), ordering="sla_due")
    def sla_cell(self, obj):
        now = timezone.now()
        state = state_at(obj.sla_due, now)
        if state is None:
            return format_html('<span class="mw-muted">{}</span>', "—")
        amount, ahead = relative(obj.sla_due, now)
        text = gettext("in %(time)s") if ahead else gettext("%(time)s late")
        return format_html(
            '<span class="mw-sla mw-sla-{}" title="{}">{}</span>',
            state,
            exact(obj.sla_due),
            text % {"time": amount},
        )

    @admin.display(description=_("assignee"), ordering="assignee__username")
    def assignee_cell(self, obj):
        if obj.assignee is None:
            return format_html('<span class="mw-muted">{}</span>', gettext("Unassigned"))
        name = obj.assignee.get_full_name() or obj.assignee.get_username()
        return format_html('<span class="mw-nowrap">{}</span>', name)

    @admin.display(description=_("last activity"), ordering="last_message_at")
    def activity_cell(self, obj):
        moment = obj.last_message_at or obj.created_at
        amount, _ahead = relative(moment, timezone.now())
        return format_html(
            '<span class="mw-nowrap" title="{}">{}</span>',
            exact(moment),
            gettext("%(time)s ago") % {"time": amount},
        )

    # --- the bulk actions -------------------------------------------------------------------

    @admin.action(description=_("Assign to me"), permissions=["change"])
    def assign_to_me(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda ticket: actions.assign(ticket, acting_user=request.user, assignee=request.user),
            gettext("%(count)d ticket(s) assigned to you."),
        )

    @admin.action(description=_("Assign to the chosen agent"), permissions=["change"])
    def assign_to(self, request, queryset):
        agent = self._chosen(request, "assignee", gettext("Choose an agent."))
        if agent is not None:
            self._each(
                request,
                queryset,
                lambda ticket: actions.assign(ticket, acting_user=request.user, assignee=agent),
                gettext("%(count)d ticket(s) assigned."),
            )

    @admin.action(description=_("Set the chosen status"), permissions=["change"])
    def set_status(self, request, queryset):
        status = self._chosen(request, "status", gettext("Choose a status."))
        if status:
            self._each(
                request,
                queryset,
                lambda ticket: actions.change_status(
                    ticket, acting_user=request.user, status=status
                ),
                gettext("%(count)d ticket(s) changed."),
            )

    @admin.action(description=_("Move to the chosen queue"), permissions=["change"])
    def set_queue(self, request, queryset):
        self._details(request, queryset, "queue", gettext("Choose a queue."))

    @admin.action(description=_("Set the chosen priority"), permissions=["change"])
    def set_priority(self, request, queryset):
        self._details(request, queryset, "priority", gettext("Choose a priority."))

    def _details(self, request, queryset, name, missing):
        value = self._chosen(request, name, missing)
        if value is not None:
            self._each(
                request,
                queryset,
                lambda ticket: actions.update_details(
                    ticket, acting_user=request.user, **{name: value}
                ),
                gettext("%(count)d ticket(s) changed."),
            )

    def _chosen(self, request, name, missing):
        """The action form's ``name``, or None with ``missing`` told to the agent."""
        form = self.action_form(request.POST)
        form.fields["action"].choices = self.get_action_choices(request)
        value = form.cleaned_data.get(name) if form.is_valid() else None
        if value in (None, ""):
            self.message_user(request, missing, level="error")
            return None
        return value

    def _each(self, request, queryset, action, done_message):
        run_each(self, request, queryset, action, done_message, name=lambda t: t.reference)
