"""The ticket page's payment-failure panel: when the customer wrote of a failed payment,
their latest failed transactions with the cause and steps for each (tickets.diagnosis, in
the agent's language), and a button that sends the explanation in the customer's language
(tickets.actions.send_payment_explanation, which decides whether it may name the
transactions). Mixed into TicketAdmin.
"""

from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from tickets import actions, diagnosis

from .common import tell


class PaymentDiagnosisMixin:
    """Adds the payment-failure panel's context and its "send" URL to the ticket admin."""

    def get_urls(self):
        return [
            path(
                "<path:object_id>/payment-explanation/",
                self.admin_site.admin_view(require_POST(self.payment_explanation_view)),
                name="tickets_ticket_payment_explanation",
            ),
            *super().get_urls(),
        ]

    def diagnosis_context(self, ticket, thread, *, verified: bool) -> dict:
        """``verified``: the agent's strong verification on the ticket (the page's full
        contacts), which is what lets the explanation name the payments
        (tickets.actions.payments.may_name_transactions)."""
        findings = diagnosis.ticket_diagnosis(ticket, thread, timezone.now())
        if findings is None:
            return {}
        return {
            "payment_diagnosis": {
                "findings": findings,
                "private": verified,
                "send_url": reverse("admin:tickets_ticket_payment_explanation", args=[ticket.pk]),
            }
        }

    def payment_explanation_view(self, request, object_id):
        ticket = self._ticket_for_change(request, object_id)

        def send():
            actions.send_payment_explanation(ticket, acting_user=request.user)
            return gettext("The explanation was sent to the customer.")

        tell(self, request, send)
        return self._back(ticket, "#reply")
