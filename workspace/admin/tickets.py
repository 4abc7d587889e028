"""The tickets side of the agent workspace.

Status and assignee belong to the actions (they write the ticket's history and enforce
the rules, e.g. a closed ticket stays closed), so they are read-only in the ticket form;
the change page carries small forms that post to admin URLs calling those actions, and
the changelist has admin actions doing the same. A new ticket is opened through
``actions.open_ticket`` so it gets its reference and its "created" event.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.permissions import REPROCESS_INBOUND
from mywallet_support.csp import allow_images, lock_down
from mywallet_support.mail import DeliveryError
from mywallet_support.pii import mask_text
from tickets import actions, selectors
from tickets.history import stars, ticket_history
from tickets.macros import rendered_macros
from tickets.models import (
    Attachment,
    Channel,
    InboundMessage,
    Message,
    Queue,
    Ticket,
    TicketEvent,
)
from tickets.sources.email import outbound

from ..forms.tickets import AssignForm, CcForm, ReplyForm, StatusForm, TicketForm
from ..site import ViewOnlyMixin
from .common import refusal_text, tell
from .contacts import address_for_token, cc_rows, full_contacts, shown_contact, shown_metadata
from .inbox import InboxMixin
from .ticket_diagnosis import PaymentDiagnosisMixin
from .ticket_merge import TicketMergeMixin
from .ticket_reveal import RevealMixin
from .ticket_security import SecurityPanelMixin


class ReadOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Records written by the system only: agents look, nobody edits in the admin."""


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["agents"]


@admin.register(Ticket)
class TicketAdmin(
    InboxMixin,
    TicketMergeMixin,
    PaymentDiagnosisMixin,
    SecurityPanelMixin,
    RevealMixin,
    admin.ModelAdmin,
):
    form = TicketForm
    # The list is the inbox (inbox.py): its columns, saved views, order and bulk actions.
    # Shown in the search box's help; the search itself is selectors.search_tickets.
    search_fields = ["reference", "subject", "customer__name", "customer__identities__value"]
    search_help_text = _("Reference, subject, message text, customer name, email or phone.")
    list_per_page = 50
    autocomplete_fields = ["customer"]
    readonly_fields = [
        "reference",
        "status",
        "assignee",
        "first_response_due",
        "resolution_due",
        "first_responded_at",
        "solved_at",
        "closed_at",
        "last_message_at",
        "created_at",
        "satisfaction_score",
        "satisfaction_comment",
        "follows_up",
    ]
    fieldsets = [
        (None, {"fields": ["reference", "customer", "channel", "subject"]}),
        (
            _("Triage"),
            {
                "fields": [
                    ("status", "assignee"),
                    ("category", "priority", "queue"),
                    ("wallet", "related_transaction"),
                    "follows_up",
                ]
            },
        ),
        (
            _("Service level"),
            {
                "classes": ["collapse"],
                "fields": [
                    ("first_response_due", "first_responded_at"),
                    ("resolution_due", "solved_at", "closed_at"),
                    ("created_at", "last_message_at"),
                    ("satisfaction_score", "satisfaction_comment"),
                ],
            },
        ),
    ]
    add_fieldsets = [
        (None, {"fields": ["customer", "channel", "subject", "category", "priority", "queue"]})
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("customer", "assignee", "queue", "wallet", "follows_up")
        )

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # The customer changes only by merging customers; the channel is where it came from.
        return [*self.readonly_fields, "customer", "channel"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return selectors.search_tickets(queryset, search_term), False

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="mw-status mw-status-{}">{}</span>', obj.status, obj.get_status_display()
        )

    def save_model(self, request, obj, form, change):
        if change:
            # Through the action: the history names each corrected field, and a new
            # priority moves the SLA due times.
            actions.update_details(
                obj,
                acting_user=request.user,
                **{
                    name: form.cleaned_data[name]
                    for name in actions.DETAILS
                    if name in form.cleaned_data
                },
            )
            obj.refresh_from_db()
            return
        data = form.cleaned_data
        ticket = actions.open_ticket(
            customer=data["customer"],
            channel=data["channel"],
            subject=data["subject"],
            category=data["category"],
            priority=data["priority"],
            queue=data.get("queue"),
            acting_user=request.user,
        )
        obj.pk = ticket.pk
        obj.refresh_from_db()

    # --- the change page ------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            can_change = self.has_change_permission(request, obj)
            full = full_contacts(obj, request.user)
            thread = selectors.ticket_thread(
                obj,
                inline_url=lambda attachment: self._url("inline_image", attachment),
                remote_images_for=_chosen_message(request),
            )
            context.update(
                thread=thread,
                history=ticket_history(obj, full_contacts=full),
                rating=stars(obj.satisfaction_score),
                panel=selectors.customer_panel(obj.customer, exclude_ticket=obj),
                identity=selectors.ticket_identity(obj),
                account_events=selectors.ticket_account_events(obj),
                can_work=can_change,
                reply_form=ReplyForm(routes=actions.reply_routes(obj)),
                macros=rendered_macros(obj, agent=request.user),
                status_form=StatusForm(initial={"status": obj.status}),
                assign_form=AssignForm(initial={"assignee": obj.assignee_id}),
                reply_url=self._url("reply", obj),
                status_url=self._url("status", obj),
                assign_url=self._url("assign", obj),
                accept_cc_url=self._url("accept_cc", obj),
                remove_cc_url=self._url("remove_cc", obj),
                cc_accepted=cc_rows(obj, obj.cc, full=full),
                cc_proposed=cc_rows(obj, obj.cc_proposed, full=full),
                recipients=_reply_recipients(obj, full=full),
                link_customer_url=self._url("claim", obj) if _may_claim(obj) else "",
            )
            context.update(self.diagnosis_context(obj, thread, verified=full))
            context.update(self.reveal_context(request, obj))
            if can_change:  # the security panel (ticket_security.py)
                context.update(self.security_context(request, obj))
            response = super().render_change_form(request, context, add, change, form_url, obj)
            # The one message whose remote images the agent chose to see: this response's
            # policy allows their origins, and nothing else is widened.
            chosen = [m.rendered for m in thread if m.rendered.remote_images]
            allow_images(request, response, chosen[0].remote_origins if chosen else ())
            return response
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _url(self, name, obj):
        return reverse(f"admin:tickets_ticket_{name}", args=[obj.pk])

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(require_POST(view))

        return [
            path("<path:object_id>/reply/", wrap(self.reply_view), name="tickets_ticket_reply"),
            path("<path:object_id>/status/", wrap(self.status_view), name="tickets_ticket_status"),
            path("<path:object_id>/claim/", wrap(self.claim_view), name="tickets_ticket_claim"),
            path("<path:object_id>/assign/", wrap(self.assign_view), name="tickets_ticket_assign"),
            path(
                "<path:object_id>/cc/accept/",
                wrap(self.accept_cc_view),
                name="tickets_ticket_accept_cc",
            ),
            path(
                "<path:object_id>/cc/remove/",
                wrap(self.remove_cc_view),
                name="tickets_ticket_remove_cc",
            ),
            path(
                "attachment/<int:pk>/inline/",
                self.admin_site.admin_view(self.inline_image_view),
                name="tickets_ticket_inline_image",
            ),
            path(
                "attachment/<int:pk>/",
                self.admin_site.admin_view(self.attachment_view),
                name="tickets_ticket_attachment",
            ),
            *super().get_urls(),
        ]

    def _ticket_for_change(self, request, object_id) -> Ticket:
        ticket = self.get_object(request, unquote(object_id))
        if ticket is None:
            raise Http404
        if not self.has_change_permission(request, ticket):
            raise PermissionDenied
        return ticket

    def _back(self, ticket, anchor=""):
        return HttpResponseRedirect(self._url("change", ticket) + anchor)

    def reply_view(self, request, object_id):
        ticket = self._ticket_for_change(request, object_id)
        form = ReplyForm(request.POST, routes=actions.reply_routes(ticket))
        if not form.is_valid():
            for errors in form.errors.values():
                self.message_user(request, " ".join(errors), messages.ERROR)
            return self._back(ticket, "#reply")
        try:
            message = form.save(ticket, acting_user=request.user)
        except ValidationError as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return self._back(ticket, "#reply")
        if message.direction == Message.Direction.NOTE:
            self.message_user(request, gettext("Internal note added."), messages.SUCCESS)
        else:
            self.message_user(request, gettext("Reply queued for delivery."), messages.SUCCESS)
        return self._back(ticket, f"#message-{message.pk}")

    def claim_view(self, request, object_id):
        """A WeChat or Weibo customer says which customer they are (actions.claim_contact);
        the security panel then offers that customer's wallets for verification."""
        ticket = self._ticket_for_change(request, object_id)
        contact = request.POST.get("contact", "")[:254]

        def claim():
            actions.claim_contact(ticket, acting_user=request.user, contact=contact)
            return gettext(
                "Noted. Verify them strongly (a confirmation link) to link this ticket and "
                "merge the two customers."
            )

        tell(self, request, claim)
        return self._back(ticket, "#security")

    def status_view(self, request, object_id):
        ticket = self._ticket_for_change(request, object_id)
        form = StatusForm(request.POST)
        if not form.is_valid():
            self.message_user(request, gettext("Choose a valid status."), messages.ERROR)
            return self._back(ticket)

        def change():
            changed = actions.change_status(
                ticket, acting_user=request.user, status=form.cleaned_data["status"]
            )
            return gettext("Status is now %(status)s.") % {"status": changed.get_status_display()}

        tell(self, request, change)
        return self._back(ticket)

    def assign_view(self, request, object_id):
        ticket = self._ticket_for_change(request, object_id)
        form = AssignForm(request.POST)
        if not form.is_valid():
            self.message_user(request, gettext("Choose a valid agent."), messages.ERROR)
            return self._back(ticket)
        assignee = form.assignee_for(request.user)

        def assign():
            actions.assign(ticket, acting_user=request.user, assignee=assignee)
            name = assignee.get_username() if assignee else gettext("nobody")
            return gettext("Assigned to %(name)s.") % {"name": name}

        tell(self, request, assign)
        return self._back(ticket)

    def accept_cc_view(self, request, object_id):
        return self._change_cc(
            request,
            object_id,
            actions.accept_cc,
            gettext("%(address)s will receive the replies on this ticket."),
        )

    def remove_cc_view(self, request, object_id):
        return self._change_cc(
            request,
            object_id,
            actions.remove_cc,
            gettext("%(address)s was removed from this ticket's Cc."),
        )

    def _change_cc(self, request, object_id, action, done_message):
        ticket = self._ticket_for_change(request, object_id)
        form = CcForm(request.POST)
        # The card's buttons name the address by a token (the page may show it masked).
        address = (
            address_for_token(ticket, form.data.get("address_token", ""))
            if form.data.get("address_token")
            else (form.cleaned_data["address"] if form.is_valid() else None)
        )
        if not address:
            self.message_user(request, gettext("Choose a valid address."), messages.ERROR)
            return self._back(ticket, "#cc")
        shown = shown_contact(address, full=full_contacts(ticket, request.user))

        def change():
            action(ticket, acting_user=request.user, address=address)
            return done_message % {"address": shown}

        tell(self, request, change)
        return self._back(ticket, "#cc")

    def attachment_view(self, request, pk):
        """Attachments are downloaded, never shown inline: customer files are not trusted."""
        attachment = get_object_or_404(Attachment.objects.select_related("message__ticket"), pk=pk)
        if not self.has_view_permission(request, attachment.message.ticket):
            raise PermissionDenied
        response = FileResponse(
            attachment.file.open("rb"),
            as_attachment=True,
            filename=attachment.name or attachment.sha256,
            content_type="application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def inline_image_view(self, request, pk):
        """An email's inline (``cid:``) image, shown in its message from our own origin.

        Only an attachment the mail referenced by content id and whose declared type is a
        raster image: it is served as that type, never sniffed, under a policy that runs
        and loads nothing (an SVG or HTML file stays a download, `attachment_view`).
        """
        attachment = get_object_or_404(
            Attachment.objects.select_related("message__ticket").exclude(content_id=""), pk=pk
        )
        if not self.has_view_permission(request, attachment.message.ticket):
            raise PermissionDenied
        content_type = attachment.content_type.split(";", 1)[0].strip().lower()
        if content_type not in INLINE_IMAGE_TYPES:
            raise Http404
        response = FileResponse(attachment.file.open("rb"), content_type=content_type)
        response["X-Content-Type-Options"] = "nosniff"
        lock_down(response)
        return response


# The images a message may show inline: raster formats browsers decode without running
# anything. SVG is not one (it can carry script).
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _chosen_message(request) -> int | None:
    """The message whose remote images the agent chose to load (``?images=<id>``)."""
    value = request.GET.get("images", "")
    return int(value) if value.isdigit() and len(value) < 19 else None


SOCIAL_CHANNELS = frozenset({Channel.WECHAT, Channel.WEIBO})


def _may_claim(ticket: Ticket) -> bool:
    """A WeChat or Weibo ticket whose customer has not yet said who they are."""
    return ticket.channel in SOCIAL_CHANNELS and ticket.claimed_identity_id is None


def _reply_recipients(ticket: Ticket, *, full: bool) -> dict | None:
    """Who the next reply goes to, listed in the reply form: the email sender's own list
    (outbound.reply_recipients), so the form never names someone the mail would not reach,
    or the reverse; the Cc masked unless the agent has earned them (``full``). None for
    tickets of other channels."""
    if ticket.channel != Channel.EMAIL:
        return None
    try:
        identity, cc = outbound.reply_recipients(ticket)
    except DeliveryError as exc:
        return {"to": None, "cc": [], "problem": str(exc)}
    return {
        "to": identity.value if full else identity.masked_value,
        "cc": [shown_contact(address, full=full) for address in cc],
        "problem": "",
    }


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "ticket",
        "direction",
        "channel",
        "author",
        "delivery_status",
        "created_at",
    ]
    list_filter = ["direction", "channel", "delivery_status"]
    search_fields = ["ticket__reference", "external_id", "subject"]
    list_select_related = ["ticket", "author"]
    # html: rendered, sanitised, only on the ticket page; metadata, subject and text: shown
    # masked below (personal data is revealed only on the ticket page, audited).
    exclude = ["html", "metadata", "subject", "text"]
    readonly_fields = ["subject_shown", "text_shown", "metadata_shown"]
    date_hierarchy = "created_at"

    def get_object(self, request, object_id, from_field=None):
        message = super().get_object(request, object_id, from_field)
        if message is not None:
            message.full_contacts = full_contacts(message.ticket, request.user)
        return message

    @admin.display(description=_("subject"))
    def subject_shown(self, obj):
        return mask_text(obj.subject)

    @admin.display(description=_("text"))
    def text_shown(self, obj):
        return format_html("<pre>{}</pre>", mask_text(obj.text))

    @admin.display(description=_("channel metadata"))
    def metadata_shown(self, obj):
        full = getattr(obj, "full_contacts", False)
        return format_html("<pre>{}</pre>", shown_metadata(obj.metadata, full=full))


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "received_at",
        "channel",
        "status",
        "reason_shown",
        "source",
        "message_link",
    ]
    list_filter = ["status", "channel"]
    search_fields = ["sha256", "source", "reason"]
    list_select_related = ["message__ticket"]
    exclude = ["raw"]
    readonly_fields = ["raw_download"]
    date_hierarchy = "received_at"
    actions = ["reprocess"]

    def get_queryset(self, request):
        # The raw bytes can be megabytes each: the list never loads them.
        return super().get_queryset(request).defer("raw")

    def has_reprocess_permission(self, request):
        return request.user.has_perm(REPROCESS_INBOUND)

    @admin.action(description=_("Reprocess the selected payloads"), permissions=["reprocess"])
    def reprocess(self, request, queryset):
        results: dict[str, int] = {}
        for stored in queryset.order_by("received_at"):
            try:
                status = actions.reprocess_inbound(stored, acting_user=request.user)
            except ValidationError as exc:
                self.message_user(request, f"#{stored.pk}: {refusal_text(exc)}", messages.WARNING)
                continue
            results[status] = results.get(status, 0) + 1
        if results:
            summary = ", ".join(f"{count} {status}" for status, count in sorted(results.items()))
            self.message_user(request, gettext("Reprocessed: %(summary)s") % {"summary": summary})

    @admin.display(description=_("reason"))
    def reason_shown(self, obj):
        # A parser's reason may quote the payload: its personal data masked.
        return mask_text(obj.reason)

    @admin.display(description=_("ticket"))
    def message_link(self, obj):
        if obj.message is None:
            return "-"
        ticket = obj.message.ticket
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:tickets_ticket_change", args=[ticket.pk]),
            ticket.reference,
        )

    @admin.display(description=_("raw payload"))
    def raw_download(self, obj):
        # Never the payload itself: a link to the page that asks why (tickets.actions.read_raw).
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:tickets_inboundmessage_raw", args=[obj.pk]),
            gettext("Read the raw payload (%(size)s bytes, encrypted), with a reason")
            % {"size": len(obj.raw or b"")},
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/raw/",
                self.admin_site.admin_view(self.raw_view),
                name="tickets_inboundmessage_raw",
            ),
            *super().get_urls(),
        ]

    def raw_view(self, request, pk):
        """GET: the form asking why; POST: the payload as a download, through the audited
        action (a supervisor, a reason, an audit row)."""
        inbound = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
        if not self.has_view_permission(request, inbound):
            raise PermissionDenied
        error = ""
        if request.method == "POST":
            try:
                raw = actions.read_raw(
                    inbound, acting_user=request.user, reason=request.POST.get("reason", "")
                )
            except ValidationError as exc:
                error = refusal_text(exc)
            else:
                response = HttpResponse(raw, content_type="application/octet-stream")
                extension = "eml" if inbound.channel == "email" else "bin"
                response["Content-Disposition"] = (
                    f'attachment; filename="inbound-{inbound.pk}.{extension}"'
                )
                response["X-Content-Type-Options"] = "nosniff"
                response["Cache-Control"] = "no-store"
                return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": inbound,
            "title": _("Read a raw payload"),
            "error": error,
        }
        return TemplateResponse(request, "admin/tickets/inboundmessage/raw_read.html", context)


@admin.register(TicketEvent)
class TicketEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket", "kind", "actor"]
    list_filter = ["kind"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket", "actor"]
