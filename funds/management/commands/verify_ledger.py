"""Recompute every balance and donation amount from the ledger entries; exit non-zero on any difference."""

from django.core.management.base import BaseCommand, CommandError

from funds.selectors import verify_ledger


class Command(BaseCommand):
    help = (
        "Recompute every account balance, transaction sum and donation amount from the ledger entries; "
        "fail on any difference."
    )

    def handle(self, *args, **options):
        report = verify_ledger()
        self.stdout.write(
            f"Accounts checked: {report.accounts_checked}\n"
            f"Transactions checked: {report.transactions_checked}\n"
            f"Entries checked: {report.entries_checked}\n"
            f"Donations checked: {report.donations_checked}"
        )
        if report.ok:
            self.stdout.write(self.style.SUCCESS("Ledger OK: every balance matches its entries."))
            return
        for difference in report.differences:
            self.stdout.write(self.style.ERROR(f"DIFFERENCE {difference}"))
        raise CommandError(f"Ledger verification failed: {len(report.differences)} difference(s).")
