"""The security side of the accounts admin: wallet actions (freeze, request unfreeze,
unlock), two-person approval requests, identity verifications (read-only).

Thin: every change goes through accounts.actions.security with the agent as the acting
user, which checks permissions and the two-person rule again whatever the admin shows;
what the admin shows asks the same functions (``can_decide``, the preconditions).
Imported by workspace/admin/customers.py, which registers the wallet admin with these actions.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.actions import security
from accounts.models import ApprovalRequest, Verification
from accounts.permissions import UNLOCK_WALLETS, VIEW_WALLETS, is_agent
from accounts.stepup import stepped_up_at
from accounts.verification import check_label
from mywallet_support.masking import mask_id_number
from tickets.actions import wallets as desk

from ..site import ViewOnlyMixin
from .common import run_each, tell


def _may_look(user) -> bool:
    """Agents who may look at wallets look at requests and verifications, and file
    requests (as the actions let them); deciding is separate."""
    return is_agent(user) and user.has_perm(VIEW_WALLETS)


# --- wallet actions -------------------------------------------------------------------------


class WalletActionForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=1000)


class WalletSecurityActionsMixin:
    """Freeze, request unfreeze and unlock as admin actions on the wallet list."""

    action_form = WalletActionForm
    actions = ["freeze_selected", "request_unfreeze_selected", "unlock_selected"]

    def has_freeze_permission(self, request):
        return security.freeze_preconditions(acting_user=request.user).met

    def has_unlock_permission(self, request):
        # The other preconditions are the wallet's and the verification's: per wallet.
        return request.user.has_perm(UNLOCK_WALLETS)

    def has_request_permission(self, request):
        return _may_look(request.user)

    def _each_with_reason(self, request, queryset, run, done_message, *, required=True):
        """``run(wallet, reason)`` for each selected wallet, with the Reason box's text."""
        reason = (request.POST.get("reason") or "").strip()
        if required and not reason:
            self.message_user(request, gettext("Give a reason in the Reason box."), messages.ERROR)
            return
        run_each(self, request, queryset, lambda wallet: run(wallet, reason), done_message)

    @admin.action(description=_("Freeze selected wallets now"), permissions=["freeze"])
    def freeze_selected(self, request, queryset):
        self._each_with_reason(
            request,
            queryset,
            lambda wallet, reason: desk.freeze_wallet(
                wallet, acting_user=request.user, reason=reason
            ),
            gettext("%(count)d wallet(s) frozen."),
        )

    @admin.action(description=_("Request unfreeze (a supervisor decides)"), permissions=["request"])
    def request_unfreeze_selected(self, request, queryset):
        self._each_with_reason(
            request,
            queryset,
            lambda wallet, reason: security.request_unfreeze_with_own_verification(
                wallet, acting_user=request.user, reason=reason
            ),
            gettext("Unfreeze requested for %(count)d wallet(s)."),
        )

    @admin.action(
        description=_("Unlock selected wallets (strong verification and step-up needed)"),
        permissions=["unlock"],
    )
    def unlock_selected(self, request, queryset):
        self._each_with_reason(
            request,
            queryset,
            lambda wallet, reason: desk.unlock_with_own_verification(
                wallet,
                acting_user=request.user,
                stepped_up_at=stepped_up_at(request),
                reason=reason,
            ),
            gettext("%(count)d wallet(s) unlocked."),
            required=False,
        )


# --- approval requests ----------------------------------------------------------------------


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Supervisors decide here. The requester sees no decision buttons, and the action
    refuses a self-approval anyway."""

    list_display = [
        "created_at",
        "kind",
        "account",
        "status",
        "requested_by",
        "ticket",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["account__number", "ticket__reference", "reason"]
    list_select_related = ["account", "requested_by", "ticket", "decided_by", "verification"]
    fields = [
        ("kind", "status"),
        "account",
        "ticket",
        "change",
        "verification_summary",
        ("requested_by", "created_at"),
        "reason",
        ("decided_by", "decided_at"),
    ]
    readonly_fields = [
        "kind",
        "status",
        "account",
        "ticket",
        "change",
        "verification_summary",
        "requested_by",
        "created_at",
        "reason",
        "decided_by",
        "decided_at",
    ]
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/accounts/approvalrequest/change_form.html"

    def has_view_permission(self, request, obj=None):
        return _may_look(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_decide_permission(self, request):
        # Offers the bulk decisions; each request is still checked on its own (can_decide).
        return security.decides_some_kind(request.user)

    @admin.display(description=_("change"))
    def change(self, obj):
        if obj.kind == ApprovalRequest.Kind.UNFREEZE:
            return format_html("{} → {}", obj.account.get_status_display(), gettext("Active"))
        if obj.status == ApprovalRequest.Status.PENDING:
            return format_html(
                "{} → {}",
                obj.account.masked_national_id or "-",
                mask_id_number(obj.new_value),
            )
        return gettext("National ID number (see the audit trail)")

    @admin.display(description=_("verification"))
    def verification_summary(self, obj):
        """Which verification the request rests on: who, how, when."""
        v = obj.verification
        if v is None:
            return gettext("None: this request rests on no identity verification.")
        who = (
            gettext("Verified by the MY Wallet app")
            if v.by_app
            else gettext("Verified by %(agent)s") % {"agent": v.verified_by}
        )
        return format_html(
            "{} · {} · {} · {}",
            v.get_strength_display(),
            who,
            ", ".join(check_label(check) for check in v.checks_passed) or "-",
            timezone.localtime(v.created_at).strftime("%Y-%m-%d %H:%M"),
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(
                can_decide=security.can_decide(obj, request.user),
                can_approve=security.can_approve(obj, request.user),
                approval_refusal=security.approval_refusal(obj, request.user),
                decision_refusal=security.decision_refusal(obj, request.user),
                decide_url=reverse("admin:accounts_approvalrequest_decide", args=[obj.pk]),
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        return [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(require_POST(self.decide_view)),
                name="accounts_approvalrequest_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        decision = request.POST.get("decision")
        note = (request.POST.get("note") or "").strip()[:1000]

        def decide():
            if decision == "approve":
                desk.approve_request(obj, acting_user=request.user, note=note)
                return gettext("Approved and applied.")
            if decision == "reject":
                security.reject_request(obj, acting_user=request.user, note=note)
                return gettext("Rejected.")
            raise ValidationError(gettext("Choose approve or reject."))

        tell(self, request, decide)
        return HttpResponseRedirect(reverse("admin:accounts_approvalrequest_change", args=[obj.pk]))

    @admin.action(description=_("Approve selected requests"), permissions=["decide"])
    def approve_selected(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda obj: desk.approve_request(obj, acting_user=request.user),
            gettext("%(count)d request(s) approved."),
        )

    @admin.action(description=_("Reject selected requests"), permissions=["decide"])
    def reject_selected(self, request, queryset):
        run_each(
            self,
            request,
            queryset,
            lambda obj: security.reject_request(obj, acting_user=request.user),
            gettext("%(count)d request(s) rejected."),
        )


# --- identity verifications -----------------------------------------------------------------


@admin.register(Verification)
class VerificationAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """Read-only: a verification is written by the actions (an agent's questions,
    accounts.actions.security.verify_identity; the customer's answer on their own device,
    accounts.actions.confirmation; the MY Wallet app's token)."""

    list_display = ["created_at", "account", "ticket", "agent", "strength", "passed", "expires_at"]
    list_filter = ["strength"]
    search_fields = ["account__number", "ticket__reference"]
    list_select_related = ["account", "ticket", "agent"]
    # answers_digest is not shown: it proves nothing to a reader without the key.
    fields = [
        "account",
        "ticket",
        "agent",
        "strength",
        "checks_passed",
        "checks_failed",
        "created_at",
        "expires_at",
    ]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return _may_look(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    @admin.display(description=_("checks passed"))
    def passed(self, obj):
        return ", ".join(obj.checks_passed) or "-"
