from django.contrib.admin.apps import AdminConfig


class AgentAdminConfig(AdminConfig):
    """The Django admin, as the two-factor agent workspace."""

    default_site = "mywallet_support.admin_site.AgentAdminSite"
