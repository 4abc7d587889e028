"""The signed-in customer's own pages: /account/ (their wallet and tickets) and
/account/tickets/<reference>/ (one ticket's conversation).

They read tickets, so they live on the tickets side (accounts must not import tickets);
who the customer is comes from accounts.app_session, as on every self-service page. A
customer sees only their own tickets (another's reference is a 404, like one that does not
exist) and only the conversation: never an internal note or anything only agents see.
"""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts import app_session

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
        "wallet_number": masked_wallet_number(wallet.number),
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


def masked_wallet_number(number: str) -> str:
    """MW8800000101 as MW88****0101: enough for the customer to recognise it on a screen
    someone else may see."""
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:4]}****{number[-4:]}"
