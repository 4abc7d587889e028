"""Customers' self-service pages: signing in through the app, the payment-password reset
and the contact change (the account's home and tickets are tickets.account_pages).

Thin: each step checks its form, calls accounts.actions.self_service, and keeps the flow's
state in the session (server-side; the browser holds only the session id). Who the
customer is comes from accounts.app_session, never from a login.
"""

import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from mywallet_support.http import client_address, declared_too_large
from mywallet_support.masking import mask_email, mask_phone

from . import app_session
from .actions import self_service
from .app_identity import AppTokenRefused
from .codes import CodeLocked, CodeNotSent
from .forms import (
    AppSignInForm,
    ChannelForm,
    CodeForm,
    ContactForm,
    NewContactForm,
    PaymentPasswordForm,
    SecondFactorForm,
    TwoCodesForm,
)
from .models import WalletAccount

RESET = "account_reset"
CONTACT = "account_contact_change"
# A flow left alone this long starts again from its first step.
FLOW_SECONDS = 20 * 60
# The sign-in form carries a token (at most app_identity.MAX_TOKEN_LENGTH) and the CSRF
# token: anything longer is refused before the body is read.
SIGN_IN_MAX_BYTES = 8 * 1024
# Where a signed-in customer lands (tickets.account_pages.home, wired in the project's URLs).
HOME = "account_home"


def _client_ip(request) -> str | None:
    return client_address(request)


def _state(request, key: str) -> dict:
    state = request.session.get(key) or {}
    if state and time.time() - state.get("started", 0) > FLOW_SECONDS:
        request.session.pop(key, None)
        return {}
    return state


def _save(request, key: str, state: dict) -> None:
    request.session[key] = state
    request.session.modified = True


def _resend_wait(state: dict) -> int:
    """Seconds before the page offers a new code (the same for every contact)."""
    return max(0, int(state.get("sent_at", 0) + settings.CODE_RESEND_SECONDS - time.time()))


# --- signing in through the app ------------------------------------------------------------


@csrf_exempt  # checked below, once the body is known to be small
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    """GET: the page whose script posts the token from ``#app_token=`` (a fragment never
    reaches a server's logs), or says how to open the page from the app. POST: the token
    starts the customer's session."""
    if declared_too_large(request, SIGN_IN_MAX_BYTES):
        return HttpResponse(_("The request is too large."), status=413)
    return _sign_in(request)


@csrf_protect
def _sign_in(request):
    if request.method == "GET":
        signed_in = app_session.signed_in_wallet(request) is not None
        return render(request, "accounts/sign_in.html", {"signed_in": signed_in})
    form = AppSignInForm(request.POST)
    try:
        if not form.is_valid():
            raise AppTokenRefused("malformed")
        wallet = self_service.sign_in_with_app(
            form.cleaned_data["app_token"], client_ip=_client_ip(request)
        )
    except AppTokenRefused as refused:
        return render(request, "accounts/sign_in.html", {"error": str(refused)}, status=403)
    app_session.start(request, wallet)
    return redirect(HOME)


@require_POST
def sign_out(request):
    app_session.end(request)
    return render(request, "accounts/signed_out.html")


# --- payment-password reset -----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def reset_payment_password(request):
    state = _state(request, RESET)
    wallet = app_session.signed_in_wallet(request)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    context = {"signed_in": wallet is not None, "error": ""}

    if action == "restart":
        request.session.pop(RESET, None)
        return redirect("accounts:reset_payment_password")
    if action in ("send", "resend"):
        response = _reset_send(request, state, wallet, context, resend=action == "resend")
        if response is not None:
            return response
        state = _state(request, RESET)
    elif action == "verify" and state.get("step") == "code":
        response = _reset_verify(request, state, context)
        if response is not None:
            return response
    elif action == "answer" and state.get("step") == "second":
        response = _reset_answer(request, state, wallet, context)
        if response is not None:
            return response
    elif action == "set" and state.get("step") == "password":
        response = _reset_set(request, state, wallet, context)
        if response is not None:
            return response

    step = state.get("step", "contact")
    context.update(
        step=step,
        state=state,
        valid_minutes=settings.CODE_VALID_SECONDS // 60,
        second_factor=self_service.second_factor(),
    )
    if step == "contact":
        context.setdefault("form", _start_form(wallet))
    elif step == "code":
        context.setdefault("form", CodeForm())
        context["resend_wait"] = _resend_wait(state)
    elif step == "second":
        context.setdefault("form", SecondFactorForm(policy=self_service.second_factor()))
    elif step == "password":
        context.setdefault("form", PaymentPasswordForm())
    elif step == "done":
        request.session.pop(RESET, None)
    return render(request, "accounts/reset_payment_password.html", context)


def _start_form(wallet, data=None):
    if wallet is None:
        return ContactForm(data)
    choices = []
    if wallet.registered_phone:
        choices.append(("phone", _("Text message to %s") % mask_phone(wallet.registered_phone)))
    if wallet.registered_email:
        choices.append(("email", _("Email to %s") % mask_email(wallet.registered_email)))
    return ChannelForm(data, choices=choices)


def _reset_send(request, state, wallet, context, *, resend: bool):
    if resend:
        if state.get("step") != "code":
            return redirect("accounts:reset_payment_password")
        if _resend_wait(state):
            context["error"] = _("You can ask for a new code in %(n)s seconds.") % {
                "n": _resend_wait(state)
            }
            return None
        form = None
        args = state["request"]
    else:
        form = _start_form(wallet, request.POST)
        if not form.is_valid():
            context["form"] = form
            request.session.pop(RESET, None)
            return _render_start_error(request, context, form)
        args = (
            {"contact": form.cleaned_data["contact"]}
            if wallet is None
            else {"channel": form.cleaned_data["channel"]}
        )
    try:
        if wallet is not None and "channel" in args:
            started = self_service.start_reset(
                wallet=wallet,
                channel=args["channel"],
                client_ip=_client_ip(request),
                language=get_language(),
            )
        else:
            started = self_service.start_reset(
                args.get("contact", ""), client_ip=_client_ip(request), language=get_language()
            )
    except (CodeNotSent, ValidationError) as exc:
        context["error"] = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        if form is not None:
            context["form"] = form
        return None
    _save(
        request,
        RESET,
        {
            "step": "code",
            "started": time.time() if not resend else state.get("started", time.time()),
            "sent_at": time.time(),
            "request": args,
            "masked": started.masked,
            "channel": started.channel,
            "value": started.value,
            "wallet": started.wallet_id,
            "decoy": started.decoy_key,
        },
    )
    return redirect("accounts:reset_payment_password")


def _render_start_error(request, context, form, *, error: str = ""):
    context.update(step="contact", state={}, form=form, second_factor=self_service.second_factor())
    if error:
        context["error"] = error
    return render(request, "accounts/reset_payment_password.html", context)


def _reset_verify(request, state, context):
    form = CodeForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return None
    try:
        device_id = self_service.check_reset_code(
            self_service.ResetStarted(
                channel=state.get("channel", ""),
                value=state.get("value", ""),
                masked=state.get("masked", ""),
                wallet_id=state.get("wallet"),
                decoy_key=state.get("decoy") or "",
            ),
            form.cleaned_data["code"],
        )
    except CodeLocked as exc:
        context["error"] = str(exc)
        return None
    if device_id is None:
        context["error"] = _("The code is wrong or has expired.")
        context["form"] = CodeForm()
        return None
    state.update(step="second", verified_at=time.time(), device=device_id)
    _save(request, RESET, state)
    return redirect("accounts:reset_payment_password")


def _reset_answer(request, state, wallet, context):
    form = SecondFactorForm(request.POST, policy=self_service.second_factor())
    context["form"] = form
    if not form.is_valid():
        return None
    try:
        right = self_service.check_second_factor(
            state["device"], form.answer(), client_ip=_client_ip(request)
        )
    except self_service.SecondFactorRefused as refused:
        if refused.restart:
            request.session.pop(RESET, None)
            return _render_start_error(request, context, _start_form(wallet), error=str(refused))
        context["error"] = str(refused)
        return None
    if not right:
        context["error"] = _("This answer does not match what your wallet has on record.")
        return None
    state.update(step="password")
    _save(request, RESET, state)
    return redirect("accounts:reset_payment_password")


def _reset_set(request, state, wallet, context):
    form = PaymentPasswordForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return None
    try:
        changed = self_service.reset_payment_password(
            state["device"],
            new_password=form.cleaned_data["password1"],
            client_ip=_client_ip(request),
        )
    except ValidationError as exc:
        request.session.pop(RESET, None)
        return _render_start_error(request, context, _start_form(wallet), error=exc.messages[0])
    _save(
        request,
        RESET,
        {
            "step": "done",
            "started": state["started"],
            "frozen": changed.status == WalletAccount.Status.FROZEN,
            "unlocked": changed.unlocked_by_reset,
        },
    )
    return redirect("accounts:reset_payment_password")


# --- contact change -------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def change_contact(request):
    wallet = app_session.signed_in_wallet(request)
    if wallet is None:
        return render(request, "accounts/change_contact.html", {"step": "sign_in"}, status=403)
    state = _state(request, CONTACT)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    context = {
        "error": "",
        "wallet_phone": mask_phone(wallet.registered_phone),
        "wallet_email": mask_email(wallet.registered_email),
    }
    if action == "restart":
        request.session.pop(CONTACT, None)
        return redirect("accounts:change_contact")
    if action == "send":
        form = NewContactForm(request.POST)
        context["form"] = form
        if form.is_valid():
            try:
                started = self_service.start_contact_change(
                    wallet,
                    new_contact=form.cleaned_data["contact"],
                    client_ip=_client_ip(request),
                    language=get_language(),
                )
            except (CodeNotSent, ValidationError) as exc:
                context["error"] = _message(exc)
                request.session.pop(CONTACT, None)
                state = {}
            else:
                _save(
                    request,
                    CONTACT,
                    {
                        "step": "codes",
                        "started": time.time(),
                        "old_device": started.old_device_id,
                        "new_device": started.new_device_id,
                        "old_masked": started.old_masked,
                        "new_masked": started.new_masked,
                    },
                )
                return redirect("accounts:change_contact")
    elif action == "confirm" and state.get("step") == "codes":
        form = TwoCodesForm(request.POST)
        context["form"] = form
        if form.is_valid():
            try:
                self_service.confirm_contact_change(
                    wallet,
                    old_device_id=state["old_device"],
                    new_device_id=state["new_device"],
                    old_code=form.cleaned_data["old_code"],
                    new_code=form.cleaned_data["new_code"],
                    client_ip=_client_ip(request),
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field, errors)
                else:
                    context["error"] = exc.messages[0]
            except CodeLocked as exc:
                context["error"] = str(exc)
            else:
                _save(request, CONTACT, {"step": "done", "started": state["started"]})
                return redirect("accounts:change_contact")

    step = state.get("step", "new")
    context.update(step=step, state=state)
    if step == "new":
        context.setdefault("form", NewContactForm())
    elif step == "codes":
        context.setdefault("form", TwoCodesForm())
    elif step == "done":
        request.session.pop(CONTACT, None)
    return render(request, "accounts/change_contact.html", context)


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return exc.messages[0]
    return str(exc)
