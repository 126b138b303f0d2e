from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundsConfig(AppConfig):
    name = "funds"
    verbose_name = _("Community charity funds")

    def ready(self):
        from . import audit_display  # noqa: F401  (how this app's audit events read: charity.audit_display)
