"""The agent workspace: the Django admin behind two factors (django-otp).

Agents sign in with password plus a code from their authenticator app (TOTP) or one of
their single-use backup codes, in one step. Every failure, whatever was wrong (unknown
account, wrong password, wrong or missing code, inactive account, too many failures),
answers with the same text, and counts towards django-axes' lock-out
(accounts.agent_sign_in): the page never tells a right password from a wrong one.

A staff account with no device yet enrols one only with an enrolment grant an
administrator issued (accounts.enrolment): opened as the link /admin/enrol/<token>/
before signing in, or typed as the code. It then scans a QR code, and sees nothing else
until the device is confirmed.
"""

import base64
import io

from django import forms
from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from accounts import agent_sign_in, enrolment
from accounts.permissions import is_agent
from chat.console import console_view

from . import dashboard
from .time_zone import time_zone_view

BACKUP_CODE_COUNT = 10
# The grant whose link was opened (or whose code was typed) in this browser.
GRANT_SESSION_KEY = "enrolment_grant"
SIGN_IN_FAILED = _(
    "Sign-in failed. Check your username, password and authentication code. After "
    "several failed attempts, sign-in pauses for a while."
)


class CodeInput(forms.TextInput):
    """Never shown back: a code (or an enrolment grant's token) is spent or wrong once
    sent, and a page that echoes it would keep a secret in the browser's history."""

    def format_value(self, value):
        return None


class AgentLoginForm(AdminAuthenticationForm):
    otp_token = forms.CharField(
        label=_("Authentication code"),
        required=False,
        max_length=64,
        help_text=_("The 6-digit code from your authenticator app, or a backup code."),
        widget=CodeInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
    )

    # One text for every failure, the lock-out included: no answer tells a right password
    # from a wrong one, or an account that exists from one that does not.
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": SIGN_IN_FAILED,
        "inactive": SIGN_IN_FAILED,
    }

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        user.otp_device = None
        token = "".join((cleaned.get("otp_token") or "").split())
        devices = list(devices_for_user(user, confirmed=True))
        if not devices:
            # First sign-in: only with an administrator's grant, then on to enrol.
            grant = enrolment.usable_for(
                user, token=token, grant_id=self.request.session.get(GRANT_SESSION_KEY)
            )
            if grant is None:
                self._refuse(user)
            self.request.session[GRANT_SESSION_KEY] = grant.pk
            return cleaned
        device = _device_for_token(devices, token) if token else None
        if device is None:
            self._refuse(user)
        allowed, _extra = device.verify_is_allowed()
        if not allowed or not device.verify_token(token):
            self._refuse(user)
        # django-otp's login signal handler records the device in the session.
        user.otp_device = device
        return cleaned

    def confirm_login_allowed(self, user):
        """Django's rule (active staff), refused like any other failure, and counted."""
        try:
            super().confirm_login_allowed(user)
        except forms.ValidationError:
            self._refuse(user)

    def _refuse(self, user):
        """A right password with a wrong second step: counted and answered as any failure."""
        self.user_cache = None
        agent_sign_in.record_failure(self.request, user.get_username())
        raise self.get_invalid_login_error()


def _device_for_token(devices, token: str):
    """A code of the TOTP's length in digits is for the app; anything else is a backup code.

    Choosing by shape means a wrong app code never counts against the backup codes.
    """
    for device in devices:
        if isinstance(device, TOTPDevice) and token.isdigit() and len(token) == device.digits:
            return device
    for device in devices:
        if isinstance(device, StaticDevice) and not (token.isdigit() and len(token) == 6):
            return device
    return None


class AgentAdminSite(OTPAdminSite):
    site_header = _("MY Wallet Support")
    site_title = _("MY Wallet Support")
    index_title = _("Agent workspace")
    login_form = AgentLoginForm
    login_template = "admin/agent_login.html"
    index_template = "admin/dashboard.html"

    def __init__(self, name="admin"):
        super().__init__(name)

    def get_urls(self):
        return [
            path("two-factor/enrol/", self.enrol_view, name="otp_enrol"),
            path("enrol/<str:token>/", self.enrol_link_view, name="otp_enrol_link"),
            path(
                "two-factor/backup-codes/",
                self.admin_view(self.backup_codes_view),
                name="otp_backup_codes",
            ),
            path("chat/console/", self.admin_view(self.chat_console_view), name="chat_console"),
            path("time-zone/", self.admin_view(self.time_zone_view), name="time_zone"),
            *super().get_urls(),
        ]

    def may_sign_in(self, request) -> bool:
        """Django's own admin rule (active staff), before the second factor: who signs in
        here, and so must enrol a device. Not is_agent: staff without the ticket
        permissions sign in with two factors too, and see what their permissions allow."""
        return AdminSite.has_permission(self, request)

    def needs_enrolment(self, request) -> bool:
        # No is_verified() here: right after login Django hands back the plain User, without
        # the OTP middleware's wrapper. Without a confirmed device nobody can be verified.
        return self.may_sign_in(request) and not user_has_device(request.user, confirmed=True)

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        if self.needs_enrolment(request):
            return redirect("admin:otp_enrol")
        response = super().login(request, extra_context)
        if request.method == "POST" and self.needs_enrolment(request):
            return redirect("admin:otp_enrol")
        return response

    def index(self, request, extra_context=None):
        """The home page is the team's dashboard (workspace.dashboard), models alongside."""
        return super().index(request, {**dashboard.context(request), **(extra_context or {})})

    def enrol_view(self, request):
        return enrol(request, site=self)

    @method_decorator(never_cache)
    def enrol_link_view(self, request, token):
        """An administrator's enrolment link: remembered in this browser's session, then
        on to sign in with the password (the link alone signs nobody in)."""
        grant = enrolment.find(token)
        if grant is None:
            return TemplateResponse(
                request,
                "admin/otp/enrol_refused.html",
                {**self.each_context(request), "title": _("Enrolment link not valid")},
                status=404,
            )
        request.session[GRANT_SESSION_KEY] = grant.pk
        return redirect(f"{reverse('admin:login')}?next={reverse('admin:otp_enrol')}")

    def chat_console_view(self, request):
        # The console's socket serves agents only (chat.access.agent_allowed): others
        # would get a page that can never connect.
        if not is_agent(request.user):
            raise PermissionDenied
        return console_view(request, site=self)

    def time_zone_view(self, request):
        return time_zone_view(request, site=self)

    def backup_codes_view(self, request):
        codes = None
        if request.method == "POST":
            codes = issue_backup_codes(request.user)
        return TemplateResponse(
            request,
            "admin/otp/backup_codes.html",
            {**self.each_context(request), "title": _("Backup codes"), "codes": codes},
        )


def issue_backup_codes(user) -> list[str]:
    """Replace the agent's backup codes with fresh single-use ones and return them once."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="Backup codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@never_cache
@csrf_protect
@login_required(login_url="admin:login")
def enrol(request, *, site):
    user = request.user
    if not site.may_sign_in(request):
        return HttpResponseRedirect(reverse("admin:login"))
    if not site.needs_enrolment(request):
        return redirect("admin:index")
    grant = enrolment.usable_for(user, grant_id=request.session.get(GRANT_SESSION_KEY))
    if grant is None:
        return TemplateResponse(
            request,
            "admin/otp/enrol_refused.html",
            {**site.each_context(request), "title": _("Enrolment link needed")},
            status=403,
        )
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=user, name=str(_("Authenticator app")), confirmed=False
        )
    error = None
    if request.method == "POST":
        token = "".join(request.POST.get("otp_token", "").split())
        allowed, _extra = device.verify_is_allowed()
        if allowed and token.isdigit() and device.verify_token(token):
            if not enrolment.spend(grant):
                return redirect("admin:otp_enrol")
            request.session.pop(GRANT_SESSION_KEY, None)
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            # In the user's history, next to the administrator's "Issued an enrolment link".
            LogEntry.objects.log_actions(
                user.pk,
                [user],
                CHANGE,
                gettext("Set up an authenticator with an enrolment link."),
                single_object=True,
            )
            codes = issue_backup_codes(user)
            otp_login(request, device)
            return TemplateResponse(
                request,
                "admin/otp/backup_codes.html",
                {
                    **site.each_context(request),
                    "title": _("Backup codes"),
                    "codes": codes,
                    "enrolled": True,
                },
            )
        error = _("That code is not valid. Scan the QR code again and enter the current code.")
    svg = io.BytesIO()
    write_qrcode_image(device.config_url, svg)
    context = {
        **site.each_context(request),
        "title": _("Set up two-factor authentication"),
        "qr_svg": mark_safe(svg.getvalue().decode()),  # noqa: S308 - generated by qrcode, no user input
        "secret": _b32(device.bin_key),
        "error": error,
    }
    return TemplateResponse(request, "admin/otp/enrol.html", context)


def _b32(key: bytes) -> str:
    secret = base64.b32encode(key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class ViewOnlyMixin:
    """Rows written elsewhere (wallet core, actions): the admin only shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
