"""The ticket page's security panel: identity verification, step-up, unlock, freeze,
unfreeze requests, national ID and contact changes.

Thin views: each form posts to one URL, is checked, and calls one function of
accounts.actions.security with the agent as the acting user; refusals come back as
messages on the ticket page. Mixed into TicketAdmin.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.actions import confirmation as confirmation_actions
from accounts.actions import security
from accounts.codes import CodeNotSent
from accounts.models import Verification
from accounts.security_selectors import security_panel, verifiable_wallets
from accounts.stepup import confirm_step_up, stepped_up_at
from accounts.verification import check_label
from tickets.actions import verify_caller
from tickets.actions import wallets as desk

from ..forms import security as forms
from .common import tell


def _link_sent(send):
    """``send()``, a link that could not be sent (limits, delivery) told as a refusal."""
    try:
        return send()
    except CodeNotSent as exc:
        raise ValidationError(str(exc)) from None


class SecurityPanelMixin:
    """Adds the security panel's context and URLs to the ticket admin."""

    security_steps = {
        "confirm": "confirm",
        "verify": "verify",
        "step-up": "step_up",
        "unlock": "unlock",
        "freeze": "freeze",
        "request-unfreeze": "request_unfreeze",
        "national-id": "national_id",
        "contact-confirm": "contact_confirm",
        "contact-change": "contact_change",
    }

    def get_urls(self):
        return [
            path(
                "<path:object_id>/security/<slug:step>/",
                self.admin_site.admin_view(require_POST(self.security_view)),
                name="tickets_ticket_security",
            ),
            *super().get_urls(),
        ]

    def security_context(self, request, ticket) -> dict:
        panel = security_panel(ticket, request.user, stepped_up_at=stepped_up_at(request))
        urls = {
            name.replace("-", "_"): reverse("admin:tickets_ticket_security", args=[ticket.pk, name])
            for name in self.security_steps
        }
        return {
            "security": panel,
            "security_urls": urls,
            "security_step_up_minutes": settings.SECURITY_STEP_UP_MINUTES,
        }

    def security_view(self, request, object_id, step):
        ticket = self._ticket_for_change(request, object_id)
        handler = self.security_steps.get(step)
        if handler is None:
            raise Http404
        back = reverse("admin:tickets_ticket_change", args=[ticket.pk]) + "#security"
        tell(self, request, lambda: getattr(self, f"_security_{handler}")(request, ticket))
        return HttpResponseRedirect(back)

    # --- helpers --------------------------------------------------------------------------

    def _security_form(self, request, form_class, ticket, *, verifying=False):
        """The bound, valid form and the wallet it names: one of the ticket customer's, or,
        only when ``verifying``, of the customer a chat guest claims to be."""
        form = form_class(request.POST)
        if not form.is_valid():
            errors = [
                f"{form.fields[name].label}: {' '.join(errs)}"
                if name in form.fields
                else " ".join(errs)
                for name, errs in form.errors.items()
            ]
            raise ValidationError(errors)
        wallets = verifiable_wallets(ticket) if verifying else ticket.customer.wallets
        wallet = wallets.filter(pk=form.cleaned_data.get("account")).first()
        if wallet is None and "account" in form.fields:
            raise ValidationError(gettext("This wallet does not belong to the ticket's customer."))
        return form, wallet

    # --- the steps ------------------------------------------------------------------------

    def _security_confirm(self, request, ticket):
        form, wallet = self._security_form(request, forms.ConfirmForm, ticket, verifying=True)
        confirmation = _link_sent(
            lambda: confirmation_actions.confirm_on_device(
                ticket, wallet, acting_user=request.user, channel=form.cleaned_data["channel"]
            )
        )
        return gettext(
            "Confirmation link sent to %(to)s. Ask the customer to open it and answer; "
            "reload this page to see their answer."
        ) % {"to": confirmation.masked_destination}

    def _security_verify(self, request, ticket):
        form, wallet = self._security_form(request, forms.VerifyForm, ticket, verifying=True)
        verification = verify_caller(
            ticket, wallet, acting_user=request.user, answers=form.answers()
        )
        if verification.strength == Verification.Strength.NONE:
            self.message_user(
                request,
                gettext("Identity not verified: a check failed (%(failed)s).")
                % {"failed": ", ".join(check_label(c) for c in verification.checks_failed)},
                messages.ERROR,
            )
            return None
        return gettext("Identity verified: %(strength)s.") % {
            "strength": verification.get_strength_display()
        }

    def _security_step_up(self, request, ticket):
        form = forms.StepUpForm(request.POST)
        if not form.is_valid() or not confirm_step_up(request, form.cleaned_data["token"]):
            raise ValidationError(gettext("That authenticator code is not valid."))
        return gettext("Authenticator code confirmed.")

    def _security_unlock(self, request, ticket):
        form, wallet = self._security_form(request, forms.ReasonForm, ticket)
        desk.unlock_wallet(
            wallet,
            acting_user=request.user,
            verification=security.latest_verification(ticket, wallet),
            ticket=ticket,
            stepped_up_at=stepped_up_at(request),
            reason=form.cleaned_data["reason"],
        )
        return gettext("Wallet %(number)s unlocked; the customer is told.") % {
            "number": wallet.number
        }

    def _security_freeze(self, request, ticket):
        form, wallet = self._security_form(request, forms.RequiredReasonForm, ticket)
        wallet = desk.freeze_wallet(
            wallet, acting_user=request.user, reason=form.cleaned_data["reason"], ticket=ticket
        )
        return gettext("Wallet %(number)s is frozen.") % {"number": wallet.number}

    def _security_request_unfreeze(self, request, ticket):
        form, wallet = self._security_form(request, forms.RequiredReasonForm, ticket)
        security.request_unfreeze(
            wallet,
            acting_user=request.user,
            reason=form.cleaned_data["reason"],
            ticket=ticket,
            verification=security.latest_verification(ticket, wallet),
        )
        return gettext("Unfreeze requested; a supervisor will decide.")

    def _security_national_id(self, request, ticket):
        form, wallet = self._security_form(request, forms.NationalIdForm, ticket)
        security.request_national_id_change(
            ticket,
            wallet,
            acting_user=request.user,
            verification=security.latest_verification(ticket, wallet),
            new_id=form.cleaned_data["new_id"],
            reason=form.cleaned_data["reason"],
        )
        return gettext("National ID number change filed; another person must approve it.")

    def _security_contact_confirm(self, request, ticket):
        form, wallet = self._security_form(request, forms.ContactConfirmForm, ticket)
        confirmation = _link_sent(
            lambda: confirmation_actions.confirm_new_contact(
                ticket,
                wallet,
                acting_user=request.user,
                kind=form.cleaned_data["kind"],
                value=form.cleaned_data["new_value"],
            )
        )
        return gettext(
            "Confirmation link sent to the new contact %(to)s; change it once the customer "
            "has confirmed."
        ) % {"to": confirmation.masked_destination}

    def _security_contact_change(self, request, ticket):
        form, wallet = self._security_form(request, forms.ContactChangeForm, ticket)
        data = form.cleaned_data
        desk.change_contact_by_agent(
            ticket,
            wallet,
            acting_user=request.user,
            kind=data["kind"],
            new_value=data["new_value"],
            verification=security.latest_verification(ticket, wallet),
            reason=data["reason"],
        )
        return gettext("Registered contact changed; the customer is told on both contacts.")
