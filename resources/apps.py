from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResourcesConfig(AppConfig):
    name = "resources"
    verbose_name = _("Resources registry")

    def ready(self):
        # "My resources", "my loans and waiting-list places", "my claims" on the portal's "my page".
        from . import my_page

        my_page.register()
