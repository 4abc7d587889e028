from axes.apps import AppConfig as AxesConfig
from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class AgentAdminConfig(AdminConfig):
    """The Django admin, as the two-factor agent workspace."""

    default_site = "workspace.site.AgentAdminSite"


class WorkspaceConfig(AppConfig):
    """The workspace's own pages: ``workspace.admin`` is autodiscovered through it."""

    name = "workspace"
    label = "workspace"
    verbose_name = _("Agent workspace")


class SignInsConfig(AxesConfig):
    """django-axes (sign-in failures and lock-out), under a name agents understand."""

    verbose_name = _("Sign-ins")
