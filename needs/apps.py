from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NeedsConfig(AppConfig):
    name = "needs"
    verbose_name = _("Needs registry")

    def ready(self):
        # "My needs" (with their timelines) and "my offers" on the portal's "my page".
        from . import my_page

        my_page.register()
