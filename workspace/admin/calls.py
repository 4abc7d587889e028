"""The hotline's pages: logging a call in a few keystrokes, and the callbacks queue.

A new call is typed in (number in any format, direction, outcome, start, duration, notes)
and filed by `tickets.sources.phone.calls.log_call`: the number finds the customer or makes
one, an answered call's notes become a phone Message on the customer's open ticket (or a
new one), and the agent lands on that ticket, where its security panel verifies the
caller; a "verify the caller now" tick sends that panel's confirmation link at once and
lands on the panel. Before saving, the page shows who the number belongs to (the `caller`
view, asked by static/phone/caller.js as the agent types): the name, the open ticket and
the customer's other contacts masked; the number the agent typed is theirs already.

A logged call's number is shown in full only to an agent who has earned its ticket's
contacts (workspace.admin.contacts). Callbacks are a queue ordered by due time; an agent
marks one done when they have called.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.actions.confirmation import confirm_on_device
from accounts.codes import CodeNotSent
from accounts.models import Customer
from accounts.permissions import WORK_TICKETS
from accounts.security_selectors import verifiable_wallets
from mywallet_support.masking import mask_identity, mask_phone
from tickets import selectors
from tickets.models import Callback, CallLog
from tickets.sources.phone import calls

from .common import refusal_text, run_each, tell
from .contacts import full_contacts


def _phone_of(customer) -> str:
    return (
        customer.identities.filter(kind="phone").order_by("pk").values_list("value", flat=True)
    ).first() or ""


class LogCallForm(forms.ModelForm):
    """What an agent types while on the phone; everything else is found from the number.

    From a customer's page the form names the customer (by id) and the number may be left
    empty: their registered phone is used, and the page shows it masked, so an agent who
    has not verified the customer never sees it in full."""

    caller_number = forms.CharField(
        label=capfirst(_("caller number")),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "type": "tel"}),
    )
    customer = forms.ModelChoiceField(
        queryset=Customer.objects.all(), required=False, widget=forms.HiddenInput
    )
    notes = forms.CharField(
        label=capfirst(_("notes")),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the caller asked and what you told them: kept on the ticket."),
    )
    duration_minutes = forms.IntegerField(
        label=capfirst(_("duration (minutes)")), required=False, min_value=0, max_value=24 * 60
    )
    verify_caller = forms.BooleanField(
        label=capfirst(_("verify the caller now")),
        required=False,
        help_text=_(
            "Sends the security panel's confirmation link to the registered phone (or email) "
            "of the customer's wallet at once; their answer shows on the ticket."
        ),
    )

    class Meta:
        model = CallLog
        fields = ["caller_number", "direction", "outcome", "started_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        customer = self._customer(self.initial.get("customer"))
        phone = _phone_of(customer) if customer else ""
        if phone:
            self.fields["caller_number"].help_text = gettext(
                "Leave empty to use %(name)s's number, %(phone)s."
            ) % {"name": customer.name, "phone": mask_phone(phone)}

    @staticmethod
    def _customer(value):
        if isinstance(value, Customer):
            return value
        return Customer.objects.filter(pk=value).first() if str(value or "").isdigit() else None

    def clean_caller_number(self):
        value = self.cleaned_data["caller_number"].strip()
        if value:
            calls.caller(value)  # raises ValidationError on a number that is not one
        return value

    def clean(self):
        data = super().clean()
        if data.get("caller_number") or "caller_number" in self.errors:
            return data
        phone = _phone_of(data["customer"]) if data.get("customer") else ""
        if phone:
            data["caller_number"] = phone
        else:
            self.add_error("caller_number", gettext("Type the caller's number."))
        return data

    def call(self) -> calls.Call:
        data = self.cleaned_data
        minutes = data.get("duration_minutes")
        return calls.Call(
            number=data["caller_number"],
            started_at=data["started_at"],
            direction=data["direction"],
            outcome=data["outcome"],
            duration=timedelta(minutes=minutes) if minutes is not None else None,
            notes=data.get("notes", ""),
        )


@admin.register(CallLog)
class CallLogAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "masked_caller",
        "direction",
        "outcome",
        "duration",
        "agent",
        "customer",
        "ticket",
    ]
    list_filter = ["direction", "outcome", "agent"]
    search_fields = ["caller_number", "external_id", "ticket__reference"]
    list_select_related = ["agent", "customer", "ticket"]
    raw_id_fields = ["customer", "ticket", "agent"]
    date_hierarchy = "started_at"

    class Media:
        js = ["phone/caller.js"]

    @admin.display(description=_("caller number"), ordering="caller_number")
    def masked_caller(self, obj):
        return mask_phone(obj.caller_number)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = LogCallForm
            kwargs["fields"] = [
                "caller_number",
                "customer",
                "direction",
                "outcome",
                "started_at",
                "duration_minutes",
                "notes",
                "verify_caller",
            ]
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            fields = self.get_form(request).base_fields
            return [(None, {"fields": list(fields)})]
        return super().get_fieldsets(request, obj)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("started_at", timezone.now())
        # From a customer's page: the customer's id; their number stays on the server.
        if request.GET.get("customer", "").isdigit():
            initial["customer"] = request.GET["customer"]
        return initial

    # A logged call's number is shown in full, and editable, only to an agent who has
    # earned its ticket's contacts (workspace.admin.contacts); a new call is typed in.
    def _full(self, request, obj) -> bool:
        return obj is None or full_contacts(obj.ticket, request.user)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        return exclude if self._full(request, obj) else [*exclude, "caller_number"]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if self._full(request, obj) else [*readonly, "masked_caller"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new call is filed by the phone channel's action, never saved as a bare row.
        try:
            filed = calls.log_call(form.call(), acting_user=request.user)
        except PermissionDenied:
            raise
        except ValidationError as error:  # checked by the form already; a race at most
            raise PermissionDenied(refusal_text(error)) from error
        obj.pk = filed.call.pk
        obj.__dict__.update({k: v for k, v in filed.call.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False
        request._filed_call = filed
        request._verify_caller = form.cleaned_data.get("verify_caller", False)
        return None

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def response_add(self, request, obj, post_url_continue=None):
        filed = getattr(request, "_filed_call", None)
        if filed is not None and filed.ticket is not None:
            self.message_user(
                request,
                gettext("Call logged on %(ticket)s.") % {"ticket": filed.ticket.reference},
                messages.SUCCESS,
            )
            # The ticket's page, where the caller is verified and answered.
            url = reverse("admin:tickets_ticket_change", args=[filed.ticket.pk])
            if getattr(request, "_verify_caller", False):
                tell(self, request, lambda: self._confirm_caller(request, filed.ticket))
                url += "#security"
            return HttpResponseRedirect(url)
        if filed is not None and filed.callback is not None:
            self.message_user(request, gettext("Call logged; a callback is due."))
            return HttpResponseRedirect(reverse("admin:tickets_callback_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def _confirm_caller(self, request, ticket) -> str:
        """The "verify the caller now" tick: the security panel's own strong verification
        (accounts.actions.confirmation.confirm_on_device), sent while the caller is still on
        the line to the first wallet's registered phone, else its email; the agent is told
        where, masked, and sees the answer in the ticket's security panel."""
        for wallet in verifiable_wallets(ticket).order_by("pk"):
            channel = "phone" if wallet.registered_phone else "email"
            if wallet.registered_phone or wallet.registered_email:
                try:
                    confirmation = confirm_on_device(
                        ticket, wallet, acting_user=request.user, channel=channel
                    )
                except CodeNotSent as exc:
                    raise ValidationError(str(exc)) from None
                return gettext(
                    "Confirmation link sent to %(to)s. Ask the caller to open it and answer; "
                    "the answer shows in the security panel."
                ) % {"to": confirmation.masked_destination}
        raise ValidationError(
            gettext("The caller has no wallet with a registered phone or email to confirm.")
        )

    def get_urls(self):
        return [
            path(
                "caller/",
                self.admin_site.admin_view(self.caller_view),
                name="tickets_calllog_caller",
            ),
            *super().get_urls(),
        ]

    def caller_view(self, request):
        """Who a typed number belongs to, for the log-a-call page, before anything is saved.
        The name, the open ticket, the customer's other contacts masked: what an agent
        needs to greet the caller, never their private details."""
        if not request.user.has_perm(WORK_TICKETS):
            raise PermissionDenied
        number = request.GET.get("number", "")[:64]
        try:
            customer = calls.caller(number)
        except ValidationError as error:
            return JsonResponse({"valid": False, "detail": refusal_text(error)})
        if customer is None:
            return JsonResponse(
                {"valid": True, "found": False, "detail": gettext("A new customer.")}
            )
        current = selectors.current_ticket(customer)
        ticket = current.reference if current else None
        contacts = [
            mask_identity(kind, value)
            for kind, value in customer.identities.values_list("kind", "value")
            if kind != "phone"
        ]
        return JsonResponse(
            {
                "valid": True,
                "found": True,
                "name": customer.name,
                "ticket": ticket or "",
                "contacts": contacts,
            }
        )


@admin.register(Callback)
class CallbackAdmin(admin.ModelAdmin):
    """The callbacks the hotline owes, soonest due first; open ones by default."""

    list_display = ["due_at", "overdue", "masked_phone", "customer", "source", "status"]
    list_filter = ["status", "source"]
    list_select_related = ["customer"]
    search_fields = ["phone", "customer__name"]
    date_hierarchy = "due_at"
    readonly_fields = [
        "masked_phone",
        "source",
        "status",
        "due_at",
        "customer",
        "call",
        "created_at",
        "done_at",
        "done_by",
    ]
    fields = readonly_fields
    actions = ["mark_done"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # The queue opens on what is still owed.
        if not request.GET and "status__exact" not in request.GET:
            query = request.GET.copy()
            query["status__exact"] = Callback.Status.OPEN
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("phone number"), ordering="phone")
    def masked_phone(self, obj):
        return mask_phone(obj.phone)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, obj):
        return obj.status == Callback.Status.OPEN and obj.due_at < timezone.now()

    @admin.action(description=_("Mark as called back"))
    def mark_done(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda callback: calls.mark_done(callback, acting_user=request.user),
            _("%(count)d callbacks marked done."),
        )


def log_call_link(customer) -> str:
    """The customer page's "Log a call" link (their number filled in by the page)."""
    url = reverse("admin:tickets_calllog_add") + f"?customer={customer.pk}"
    return format_html('<a class="button" href="{}">{}</a>', url, gettext("Log a call"))
