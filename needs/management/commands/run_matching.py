"""Run the need–resource matching in this process, without a broker (cron, the embedded default, a check).

manage.py run_matching                      # the night's run: every district, then each city's remainder
manage.py run_matching --area 12            # one area's run (refused while a run for it is under way)
manage.py run_matching --dry-run [--area 12]  # print what it would propose; write nothing
"""

import datetime
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from charity.errors import DomainError
from charity.models import Area, AuditEvent
from charity.services import Actor
from needs import matching_run
from needs.match_reasons import reasons_in_words
from needs.models import MatchRun


class Command(BaseCommand):
    help = (
        "Match open needs with resources: the nightly run (one partition per district, then the city-wide "
        "remainder), or one area's run with --area. --dry-run prints the proposals and writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--area", type=int, help="Run for this area (its id) only.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what it would propose; write nothing."
        )
        parser.add_argument(
            "--night",
            type=datetime.date.fromisoformat,
            help="The night (YYYY-MM-DD) of a nightly run; today by default. Not with --area.",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=100,
            help="A dry run prints at most this many proposals per partition (0: all). Default 100.",
        )

    def handle(self, *args, area=None, dry_run=False, night=None, limit=100, **options):
        if area is not None and night is not None:
            raise CommandError("--night is for the nightly run; a run for one area is for today.")
        target = None
        if area is not None:
            target = Area.objects.filter(pk=area).first()
            if target is None:
                raise CommandError(f"There is no area with id {area}.")
        if dry_run:
            for outcome in matching_run.dry_run(area=target, night=night):
                self._summary(
                    outcome.area, outcome.partition, outcome.result, outcome.loaded, outcome.timings
                )
                self._proposals(outcome.result, limit)
            self.stdout.write(self.style.WARNING("Dry run: nothing was written."))
            return
        try:
            if target is not None:
                run = matching_run.start_area_run(
                    area=target,
                    actor=Actor.system(AuditEvent.Surface.COMMAND),
                    trigger=MatchRun.Trigger.COMMAND,
                )
                runs = [matching_run.execute_area_run(run.pk)]
            else:
                runs = matching_run.run_nightly(night=night or timezone.localdate())
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        for run in runs:
            self._run_summary(run)
        failed = [r for r in runs if r.status != MatchRun.Status.DONE]
        if failed:
            raise CommandError(f"{len(failed)} partition(s) did not finish: see their errors in the admin.")
        self.stdout.write(self.style.SUCCESS(f"Done: {len(runs)} partition(s)."))

    def _line(
        self, area, partition, *, needs, resources, candidates, proposals, units, cost, skipped, timings
    ):
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(skipped.items()))
        phases = ", ".join(f"{p} {timings[p]:.2f} s" for p in ("load", "solve", "write") if p in timings)
        self.stdout.write(
            f"{partition} {area.name} (#{area.pk}): {needs:,} needs, {resources:,} resources, "
            f"{candidates:,} candidate pairs → {proposals:,} matches, {units:,} units, total cost {cost:,}; "
            f"skipped {sum(skipped.values()):,}{f' ({reasons})' if reasons else ''}; {phases}"
        )

    def _summary(self, area, partition, result, loaded, timings):
        self._line(
            area,
            partition,
            needs=len(loaded.needs),
            resources=len(loaded.resources),
            candidates=result.candidates,
            proposals=len(result.proposals),
            units=result.matched_quantity,
            cost=result.total_cost,
            skipped=Counter(s.reason for s in result.skipped),
            timings=timings,
        )

    def _run_summary(self, run):
        area = Area.objects.get(pk=run.area_id)
        skipped = Counter(s["reason"] for s in run.skipped if s.get("kind") != "more")
        more = sum(s.get("count", 0) for s in run.skipped if s.get("kind") == "more")
        if more:
            skipped["(more)"] = more
        self._line(
            area,
            f"[{run.get_status_display()}] {run.partition}",
            needs=run.needs_considered,
            resources=run.resources_considered,
            candidates=run.candidates,
            proposals=run.matches_proposed,
            units=run.quantity_matched,
            cost=run.total_cost,
            skipped=skipped,
            timings=run.timings,
        )
        if run.error:
            self.stdout.write(self.style.ERROR(f"  {run.error}"))

    def _proposals(self, result, limit):
        shown = result.proposals if limit <= 0 else result.proposals[:limit]
        for p in shown:
            reasons = reasons_in_words([[code, args] for code, args in p.reasons])
            self.stdout.write(f"  need #{p.need_id} ← resource #{p.resource_id} × {p.quantity}: {reasons}")
        if len(shown) < len(result.proposals):
            self.stdout.write(f"  … and {len(result.proposals) - len(shown):,} more (--limit 0 prints all)")
