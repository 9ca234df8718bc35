from django.contrib.admin.apps import AdminConfig


class TrustAdminConfig(AdminConfig):
    """django.contrib.admin, with `admin.site` being the MFA-aware site.

    Kept out of accounts/apps.py so that "accounts" keeps one app config.
    """

    default_site = "accounts.admin_site.TrustAdminSite"
