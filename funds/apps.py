from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FundsConfig(AppConfig):
    name = "funds"
    verbose_name = _("Community charity funds")

    def ready(self):
        from charity import my_page

        from . import audit_display  # noqa: F401  (how this app's audit events read: charity.audit_display)
        from .my_page import erase_donor, export_donations

        # "My page": a resident's donations in their data download, anonymised when they delete their account.
        my_page.register_export("donations", export_donations)
        my_page.register_erasure("donations", erase_donor)
