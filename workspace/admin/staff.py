"""Staff accounts and their sign-ins.

- Users: Django's own page, with "Issue enrolment link" (administrators only), which
  shows a new enrolment grant's link and code once (accounts.enrolment) and writes it to
  the user's history.
- Sign-in failures (django-axes): the current counts (who is paused) and the log of every
  failure, view-only, for supervisors. The username is shown masked, as in the log (people
  type passwords and phone numbers into it); search finds the exact username.
"""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import enrolment
from mywallet_support.masking import mask_text

from ..site import ViewOnlyMixin

User = get_user_model()

if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    actions = ["issue_enrolment_link"]

    @admin.action(description=_("Issue enrolment link"), permissions=["issue_enrolment"])
    def issue_enrolment_link(self, request, queryset):
        issued = []
        for user in queryset:
            token = enrolment.issue(user, acting_user=request.user)
            self.log_change(request, user, gettext("Issued an enrolment link."))
            link = request.build_absolute_uri(reverse("admin:otp_enrol_link", args=[token]))
            issued.append({"user": user, "link": link, "code": token})
        return TemplateResponse(
            request,
            "admin/otp/enrolment_issued.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Enrolment links"),
                "issued": issued,
                "opts": self.model._meta,
            },
        )

    def has_issue_enrolment_permission(self, request):
        return request.user.is_active and request.user.is_superuser


class SignInAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_filter = ["attempt_time"]
    date_hierarchy = "attempt_time"
    search_fields = ["=username", "ip_address"]
    actions = None

    @admin.display(description=_("username"), ordering="username")
    def masked_username(self, obj):
        return mask_text(obj.username or "")


@admin.register(AccessAttempt)
class AccessAttemptAdmin(SignInAdmin):
    list_display = ["attempt_time", "masked_username", "ip_address", "failures_since_start"]
    fields = [
        "attempt_time",
        "masked_username",
        "ip_address",
        "user_agent",
        "path_info",
        "failures_since_start",
    ]
    readonly_fields = fields


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(SignInAdmin):
    list_display = ["attempt_time", "masked_username", "ip_address", "locked_out"]
    list_filter = ["attempt_time", "locked_out"]
    fields = [
        "attempt_time",
        "masked_username",
        "ip_address",
        "user_agent",
        "path_info",
        "locked_out",
    ]
    readonly_fields = fields


@admin.register(AccessLog)
class AccessLogAdmin(SignInAdmin):
    list_display = ["attempt_time", "logout_time", "masked_username", "ip_address"]
    fields = ["attempt_time", "logout_time", "masked_username", "ip_address", "user_agent"]
    readonly_fields = fields
