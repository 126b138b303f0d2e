from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VolunteersConfig(AppConfig):
    name = "volunteers"
    verbose_name = _("Volunteers")

    def ready(self):
        # Each subject's part of the portal's "my page": registration, sign-ups, hours and certificates.
        from .views import events, hours, volunteers

        for module in (volunteers, events, hours):
            module.register_my_page()
