"""Load the demo communities. Running it twice changes nothing."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from charity import demo
from charity.models import Area


class Command(BaseCommand):
    help = "Load the demo data of the two seed-study communities (大龙社区, 官北沟社区). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Only seed when the database has no area yet."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DJANGO_DEBUG=false: it creates a superuser with a known password.",
        )

    def handle(self, *args, if_empty=False, force=False, **options):
        if not settings.DEBUG and not force:
            # The demo creates logins with published passwords: never on a live site by accident.
            raise CommandError(
                "seed_demo creates a superuser and staff logins with published passwords: it does not run "
                "with DJANGO_DEBUG=false. Use --force on a throw-away demonstration server only."
            )
        if if_empty and Area.objects.exists():
            self.stdout.write("The database already has data: demo data not loaded again.")
        else:
            with transaction.atomic():
                # Each app seeds its own demo data through its `demo.seed()`, in INSTALLED_APPS order —
                # the order the apps depend on each other (like admin.autodiscover, by module name).
                for config in apps.get_app_configs():
                    module_name = f"{config.name}.demo"
                    if find_spec(module_name) is not None:
                        import_module(module_name).seed(stdout=self.stdout)
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.stdout.write(
            "\nDemo logins (admin: http://127.0.0.1:8000/admin/, portal: http://127.0.0.1:8000/):"
        )
        for username, password, what in demo.logins():
            self.stdout.write(f"  {username:<14} {password:<20} {what}")
