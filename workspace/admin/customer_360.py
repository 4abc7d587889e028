"""Customer 360 on the customer's change page (tickets.customer360): identities, wallets,
cards and transactions beside one timeline of the customer's tickets on every channel,
calls and key account events, above the customer's own form. Everything masked."""

from django.contrib.admin.utils import unquote

from tickets.customer360 import customer_overview


class Customer360Mixin:
    """For CustomerAdmin: the overview in the change page's context."""

    change_form_template = "admin/accounts/customer/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if customer is not None:
            context["overview"] = customer_overview(customer)
        return super().change_view(request, object_id, form_url, context)
