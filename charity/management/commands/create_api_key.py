"""Create an API key for an organisation from the command line; the key is printed once, on the last line."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from charity.errors import DomainError
from charity.models import AuditEvent, Organization
from charity.services import Actor, create_api_key


def _expiry(value: str) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--expires must be a date like 2026-12-31, not {value!r}")
    # The key works through the whole of that day, Shanghai time.
    return timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))


class Command(BaseCommand):
    help = "Create an API key for an organisation. The key is printed once, on the last line: copy it."

    def add_arguments(self, parser):
        parser.add_argument("--org", type=int, required=True, help="Id of the organisation the key acts for.")
        parser.add_argument("--name", required=True, help="A label, e.g. the system that will use the key.")
        parser.add_argument("--expires", help="Last day the key works, YYYY-MM-DD (default: never expires).")

    def handle(self, *args, org, name, expires=None, **options):
        organization = Organization.objects.filter(pk=org).first()
        if organization is None:
            raise CommandError(f"No organisation with id {org}. List them in the admin or with the API.")
        expiry_date = _expiry(expires) if expires else None
        if expiry_date is not None and expiry_date <= timezone.now():
            raise CommandError(f"--expires {expires} is in the past: the key would never work.")
        try:
            api_key, key = create_api_key(
                organization=organization,
                name=name,
                expiry_date=expiry_date,
                actor=Actor.system(AuditEvent.Surface.COMMAND),
            )
        except DomainError as exc:
            raise CommandError(str(exc.message))
        until = f", valid through {expires}" if expires else ", no expiry"
        self.stdout.write(
            f"Created API key {api_key.prefix} “{api_key.name}” for {organization.name}{until}."
        )
        self.stdout.write("Copy the key now: only its hash is stored and it cannot be shown again.")
        self.stdout.write(key)
