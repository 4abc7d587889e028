"""The customers-and-wallets side of the agent workspace.

Personal data is shown masked (national ID, registered phone and email, identities in
lists); the payment password never appears. Wallets, cards and transactions come from
the wallet core and are read-only here: wallet changes (unlock, freeze, contact changes)
go through ``accounts.actions``, which write the audit trail. The audit trail itself
(AccountEvent) can only be viewed, by everyone, superusers included.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.actions import add_identity
from accounts.identities import normalise_identity
from accounts.models import (
    AccountEvent,
    BankCard,
    Customer,
    CustomerIdentity,
    Transaction,
    WalletAccount,
    WalletEvent,
)
from accounts.permissions import MERGE_CUSTOMERS
from accounts.selectors import audit_entries, events_for_customer, events_for_wallet
from mywallet_support.logging import mask_personal_data
from tickets.actions import merge_customers
from tickets.selectors import contact_search_value, search_customers

from ..site import ViewOnlyMixin
from .calls import log_call_link
from .common import refusal_text
from .customer_360 import Customer360Mixin
from .wallet_security import WalletSecurityActionsMixin


def audit_trail(queryset, *, show_wallet: bool, more: tuple[str, int]) -> str:
    """The latest account events, read-only and masked, with a link to all of them."""
    return render_to_string(
        "admin/accounts/includes/audit_events.html",
        {
            "entries": audit_entries(queryset),
            "show_wallet": show_wallet,
            "more_field": more[0],
            "more_value": more[1],
        },
    )


def _badge(value: str, label) -> str:
    return format_html('<span class="mw-status mw-status-{}">{}</span>', value, label)


class MaskedContactsMixin:
    """A wallet's registered phone and email, shown masked only."""

    @admin.display(description=_("registered phone"))
    def masked_phone(self, obj):
        return obj.masked_phone

    @admin.display(description=_("registered email"))
    def masked_email(self, obj):
        return obj.masked_email


# --- customers ------------------------------------------------------------------------------


@admin.register(Customer)
class CustomerAdmin(Customer360Mixin, admin.ModelAdmin):
    list_display = ["__str__", "contacts", "language", "merged_into", "created_at"]
    list_filter = ["language"]
    search_fields = ["name", "identities__value"]
    search_help_text = _("Name, email, phone number, WeChat or Weibo id.")
    fields = [
        "name",
        "language",
        "notes",
        "user",
        "merged_into",
        "created_at",
        "updated_at",
        "account_events",
        "log_call",
    ]
    readonly_fields = [
        "user",
        "merged_into",
        "created_at",
        "updated_at",
        "account_events",
        "log_call",
    ]
    actions = ["merge_into_oldest"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merged_into")

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # The contacts column reads every row's identities: one query for the page.
        changelist.result_list = changelist.result_list.prefetch_related("identities")
        return changelist

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return search_customers(queryset, search_term), False

    @admin.display(description=_("account events"))
    def account_events(self, obj):
        if obj is None or obj.pk is None:
            return ""
        return audit_trail(events_for_customer(obj), show_wallet=True, more=("customer", obj.pk))

    @admin.display(description=_("hotline"))
    def log_call(self, obj):
        if obj is None or obj.pk is None:
            return ""
        return log_call_link(obj)

    @admin.display(description=_("contacts"))
    def contacts(self, obj):
        return ", ".join(identity.masked_value for identity in obj.identities.all())

    def has_merge_permission(self, request):
        return request.user.has_perm(MERGE_CUSTOMERS)

    @admin.action(description=_("Merge selected customers into the oldest"), permissions=["merge"])
    def merge_into_oldest(self, request, queryset):
        customers = sorted(queryset, key=lambda c: (c.created_at, c.pk))
        if len(customers) < 2:
            self.message_user(
                request, gettext("Select at least two customers to merge."), messages.WARNING
            )
            return
        target, *sources = customers
        try:
            with transaction.atomic():
                for source in sources:
                    merge_customers(
                        source=source,
                        target=target,
                        acting_user=request.user,
                        reason=gettext("Merged in the agent workspace."),
                    )
        except ValidationError as exc:
            self.message_user(request, refusal_text(exc), messages.ERROR)
            return
        self.message_user(
            request,
            gettext("%(count)d customer(s) merged into %(target)s.")
            % {"count": len(sources), "target": target},
            messages.SUCCESS,
        )


class IdentityAddForm(forms.ModelForm):
    """Adding a contact: the value is normalised here so duplicates are caught as errors."""

    class Meta:
        model = CustomerIdentity
        fields = ["customer", "kind", "value", "display_name"]

    def clean_value(self):
        kind = self.cleaned_data.get("kind")
        value = self.cleaned_data.get("value", "")
        if not kind:
            return value
        return normalise_identity(kind, value)


@admin.register(CustomerIdentity)
class CustomerIdentityAdmin(admin.ModelAdmin):
    list_display = ["masked_value", "kind", "customer", "undeliverable", "created_at"]
    list_filter = ["kind", "undeliverable"]
    search_fields = ["value", "customer__name"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    form = IdentityAddForm

    @admin.display(description=_("value"))
    def masked_value(self, obj):
        return obj.masked_value

    def has_change_permission(self, request, obj=None):
        # An identity moves only by merging customers; threading depends on it.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", "kind", "value", "display_name"]
        return ["customer", "kind", "masked_value", "display_name", "undeliverable", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return self.get_fields(request, obj)

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        contact = contact_search_value(search_term)
        if contact is not None:
            kind, value = contact
            results = queryset.filter(Q(pk__in=results.values("pk")) | Q(kind=kind, value=value))
        return results, duplicates

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        identity = add_identity(
            data["customer"],
            kind=data["kind"],
            value=data["value"],
            display_name=data.get("display_name", ""),
            acting_user=request.user,
        )
        obj.pk = identity.pk
        obj.refresh_from_db()


# --- wallets --------------------------------------------------------------------------------


class CardInline(ViewOnlyMixin, admin.TabularInline):
    model = BankCard
    fields = ["bank", "kind", "masked_number", "active", "bound_at"]
    readonly_fields = fields
    extra = 0

    @admin.display(description=_("card number"))
    def masked_number(self, obj):
        return obj.masked_number


@admin.register(WalletAccount)
class WalletAccountAdmin(
    MaskedContactsMixin, WalletSecurityActionsMixin, ViewOnlyMixin, admin.ModelAdmin
):
    list_display = [
        "number",
        "customer",
        "status_badge",
        "lock_reason",
        "masked_phone",
        "balance",
        "currency",
    ]
    list_filter = ["status", "lock_reason"]
    search_fields = ["number", "customer__name"]
    list_select_related = ["customer"]
    # payment_password and national_id are never listed here: the hash is nobody's
    # business and the ID is shown masked only.
    fields = [
        "number",
        "customer",
        ("status", "lock_reason"),
        "failed_password_attempts",
        "masked_phone",
        "masked_email",
        "masked_national_id",
        ("balance", "currency"),
        "recent_transactions",
        "account_events",
        ("created_at", "updated_at"),
    ]
    readonly_fields = [
        "number",
        "customer",
        "status",
        "lock_reason",
        "failed_password_attempts",
        "masked_phone",
        "masked_email",
        "masked_national_id",
        "balance",
        "currency",
        "recent_transactions",
        "account_events",
        "created_at",
        "updated_at",
    ]
    inlines = [CardInline]

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        contact = contact_search_value(search_term)
        if contact is not None:
            kind, value = contact
            is_email = kind == CustomerIdentity.Kind.EMAIL
            field = "registered_email" if is_email else "registered_phone"
            on_customer = CustomerIdentity.objects.filter(
                customer=OuterRef("customer_id"), kind=kind, value=value
            )
            results = queryset.filter(
                Q(pk__in=results.values("pk")) | Q(**{field: value}) | Q(Exists(on_customer))
            )
        return results, duplicates

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return _badge(obj.status, obj.get_status_display())

    @admin.display(description=_("national ID number"))
    def masked_national_id(self, obj):
        return obj.masked_national_id

    @admin.display(description=_("account events"))
    def account_events(self, obj):
        return audit_trail(events_for_wallet(obj), show_wallet=False, more=("account", obj.pk))

    @admin.display(description=_("recent transactions"))
    def recent_transactions(self, obj):
        rows = obj.transactions.order_by("-occurred_at", "-id")[:20]
        return format_html(
            '<table class="mw-table"><tbody>{}</tbody></table>',
            format_html_join(
                "",
                '<tr class="{}"><td>{}</td><td><a href="{}">{}</a></td><td>{}</td>'
                "<td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        "mw-failed" if txn.failed else "",
                        txn.occurred_at.strftime("%Y-%m-%d %H:%M"),
                        reverse("admin:accounts_transaction_change", args=[txn.pk]),
                        txn.reference,
                        txn.get_kind_display(),
                        txn.amount,
                        txn.currency,
                        txn.merchant,
                        _badge(txn.status, txn.get_status_display()),
                        txn.get_failure_reason_display() if txn.failure_reason else "",
                    )
                    for txn in rows
                ),
            ),
        )


@admin.register(BankCard)
class BankCardAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["masked_number", "bank", "kind", "account", "active", "bound_at"]
    list_filter = ["kind", "active"]
    search_fields = ["account__number", "bank"]
    list_select_related = ["account"]
    fields = ["account", "bank", "kind", "masked_number", "active", "bound_at"]
    readonly_fields = fields

    @admin.display(description=_("card number"))
    def masked_number(self, obj):
        return obj.masked_number


@admin.register(Transaction)
class TransactionAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "account",
        "kind",
        "amount",
        "currency",
        "merchant",
        "status_badge",
        "failure_reason",
        "occurred_at",
    ]
    list_filter = ["status", "failure_reason", "kind"]
    search_fields = ["reference", "merchant", "account__number"]
    list_select_related = ["account"]
    date_hierarchy = "occurred_at"

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return _badge(obj.status, obj.get_status_display())


# --- the audit trail ------------------------------------------------------------------------


@admin.register(AccountEvent)
class AccountEventAdmin(admin.ModelAdmin):
    """Append-only: view only, for everyone. Superusers are no exception."""

    list_display = [
        "sequence",
        "created_at",
        "action",
        "customer",
        "account",
        "ticket",
        "actor_kind",
        "actor",
    ]
    list_filter = ["action", "actor_kind"]
    search_fields = ["customer__name", "account__number", "ticket__reference", "reason"]
    list_select_related = ["customer", "account", "ticket", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- events from the wallet core ------------------------------------------------------------


@admin.register(WalletEvent)
class WalletEventAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """What /api/wallet-events/ received, refused bodies included (evidence): view only."""

    list_display = ["received_at", "kind", "event_id", "account", "status", "reason"]
    list_filter = ["status", "kind"]
    search_fields = ["event_id", "account__number", "reason"]
    list_select_related = ["account"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "event_id",
        "kind",
        "account",
        "status",
        "reason",
        "client_ip",
        "body_size",
        "body_sha256",
        "repeats",
        "body_text",
    ]
    readonly_fields = fields

    @admin.display(description=_("body as received"))
    def body_text(self, obj):
        text = bytes(obj.body).decode("utf-8", errors="replace")
        return format_html("<pre>{}</pre>", mask_personal_data(text))
