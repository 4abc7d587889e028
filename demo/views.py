"""The demo's "play the app" page (/demo/app/): it stands in for the MY Wallet app, which
opens the chat or the self-service pages with an identity token for the signed-in customer.

Each button signs a fresh token when it is pressed (a page left open for an hour still
works: tokens live minutes and are good once) and redirects to the page with the token in
the address's fragment, as the app would. Served with DEBUG or DEMO_APP_PAGE only: anyone
who can open it can open any demo wallet.
"""

from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts import app_identity
from accounts.models import WalletAccount

from .data import DEMO_CUSTOMERS

# Where each button goes, and the audience its token is for.
SURFACES = {
    "chat": ("chat:page", app_identity.AUDIENCE_CHAT),
    "account": ("accounts:sign_in", app_identity.AUDIENCE_ACCOUNT),
}


@never_cache
@require_http_methods(["GET", "POST"])
def play_the_app(request):
    if not settings.DEMO_APP_PAGE:
        raise Http404
    wallets = demo_wallets()
    if request.method == "POST":
        wallet = wallets.get(request.POST.get("wallet", ""))
        surface = SURFACES.get(request.POST.get("open", ""))
        if wallet is None or surface is None:
            raise Http404
        page, audience = surface
        try:
            token = app_identity.sign(wallet, audience=audience)
        except app_identity.AppTokenRefused as refused:
            context = {"wallets": wallets.values(), "error": str(refused)}
            return render(request, "demo/app.html", context, status=503)
        return redirect(f"{reverse(page)}#app_token={token}")
    return render(request, "demo/app.html", {"wallets": wallets.values()})


def demo_wallets() -> dict[str, WalletAccount]:
    """The seeded demo customers' wallets (`manage.py seed_demo`), by number, in the
    order of demo.data; only these can be opened here."""
    numbers = [spec.wallet_number for spec in DEMO_CUSTOMERS]
    found = WalletAccount.objects.select_related("customer").in_bulk(numbers, field_name="number")
    return {number: found[number] for number in numbers if number in found}
