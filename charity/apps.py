from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CharityConfig(AppConfig):
    name = "charity"
    verbose_name = _("Community structure")

    def ready(self):
        from . import (
            auth,  # noqa: F401  (connects the audit of log-ins to Django's auth signals)
            middleware,  # noqa: F401  (a staff log-in starts the idle-session clock)
        )
