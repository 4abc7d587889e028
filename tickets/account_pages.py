"""The signed-in customer's own pages: /account/ (their wallet and tickets) and
/account/tickets/<reference>/ (one ticket's conversation); and /account/confirm/<token>/,
where a customer answers an agent's confirmation link (its yes may prove who a chat's guest
is, which links their ticket: tickets.actions.answer_confirmation).

They read tickets, so they live on the tickets side (accounts must not import tickets);
who the customer is comes from accounts.app_session, as on every self-service page. A
customer sees only their own tickets (another's reference is a 404, like one that does not
exist) and only the conversation: never an internal note or anything only agents see.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts import app_session
from accounts.confirmations import LookupsExhausted, agent_name, pending_confirmation
from mywallet_support.http import client_address, declared_too_large
from mywallet_support.masking import mask_wallet_number

from .actions import answer_confirmation
from .selectors import customer_tickets, public_thread

# Enough for anyone's history on one page; older tickets are one chat away.
HOME_TICKETS = 50


@never_cache
@require_GET
def home(request):
    wallet = app_session.signed_in_wallet(request)
    if wallet is None:
        return redirect("accounts:sign_in")
    context = {
        "customer": wallet.customer,
        "wallet_number": mask_wallet_number(wallet.number),
        "tickets": list(customer_tickets(wallet.customer)[:HOME_TICKETS]),
    }
    return render(request, "accounts/home.html", context)


@never_cache
@require_GET
def ticket(request, reference: str):
    wallet = app_session.signed_in_wallet(request)
    if wallet is None:
        return redirect("accounts:sign_in")
    found = customer_tickets(wallet.customer).filter(reference=reference).first()
    if found is None:
        raise Http404
    context = {"ticket": found, "thread": public_thread(found)}
    return render(request, "accounts/ticket.html", context)


# --- confirm on the customer's own device ---------------------------------------------------

# The confirm form is one button: anything much larger is not ours.
CONFIRM_MAX_BYTES = 4 * 1024


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    """The page a confirmation link opens (accounts.confirmations): the ticket and the agent,
    and "Yes, this is me" / "No, I did not ask for this". No login: the token, sent to the
    wallet's registered contact, is the proof. Links that lead nowhere are counted per
    client address; past the limit the page answers 429 before looking anything up."""
    if declared_too_large(request, CONFIRM_MAX_BYTES):
        return render(request, "accounts/confirm.html", {"state": "too_large"}, status=413)
    try:
        confirmation = pending_confirmation(token, client_ip=client_address(request))
    except LookupsExhausted:
        return render(request, "accounts/confirm.html", {"state": "throttled"}, status=429)
    if confirmation is None:
        return render(request, "accounts/confirm.html", {"state": "invalid"}, status=404)
    context = {
        "state": "ask",
        "confirmation": confirmation,
        "agent": agent_name(confirmation.agent),
        "error": "",
    }
    if request.method == "POST":
        answer = request.POST.get("answer")
        if answer in ("yes", "no"):
            try:
                answer_confirmation(confirmation, confirmed=answer == "yes")
            except ValidationError:
                return render(request, "accounts/confirm.html", {"state": "invalid"}, status=404)
            context["state"] = "confirmed" if answer == "yes" else "declined"
        else:
            context["error"] = _("Choose one of the two answers.")
    return render(request, "accounts/confirm.html", context)
