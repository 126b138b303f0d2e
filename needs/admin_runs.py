"""Matching runs in the admin: each partition's counts, the rows it could not use and its timings, scoped to
the staff member's areas; and "start a run for my area", which records the run through
needs.matching_run.start_area_run (refused while a run for an overlapping area is under way) and hands it to
the Celery task (in-process without a broker). Nothing is edited or deleted here.
"""

from collections import Counter

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from charity.admin import admin_actor
from charity.admin_base import ROLE, ScopedAdminMixin, has_role
from charity.errors import DomainError

from . import matching_run, tasks
from .models import MatchRun

PARTITION_LABELS = {
    matching_run.DISTRICT: _("one district's own resources"),
    matching_run.CITY: _("city-wide resources, after the districts"),
    matching_run.AREA: _("one area, every resource that reaches it"),
}

# Why the engine could not use a row (needs.matching's reason codes).
SKIP_REASONS = {
    "no_category": _("no category"),
    "no_quantity": _("nothing left to give"),
    "bad_sub_kind": _("unknown kind of help"),
    "bad_urgency": _("unknown urgency"),
    "no_area": _("not in a community of the area tree"),
    "bad_waited_days": _("no publication date"),
    "bad_needed_by": _("unreadable needed-by date"),
    "no_slot": _("no weekly availability"),
    "bad_kind": _("a kind that is not matched"),
    "bad_window": _("unreadable availability dates"),
    "window_reversed": _("availability ends before it starts"),
    "expired": _("availability has ended"),
    "travels_nowhere": _("travels nowhere (its reach is not above its community)"),
    "duplicate_id": _("given twice"),
    "bad_id": _("no id"),
}
SKIPPED_SHOWN = 200


def skip_reason(code: str) -> str:
    return str(SKIP_REASONS.get(code, code))


class StartRunForm(forms.Form):
    required_css_class = "required"  # the admin's bold label

    area = forms.ModelChoiceField(
        label=_("area"),
        queryset=None,
        help_text=_(
            "Its published needs are matched with every resource that can reach them; proposals of earlier "
            "runs for these needs give way to the new ones."
        ),
    )

    def __init__(self, *args, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas


@admin.register(MatchRun)
class MatchRunAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "area"
    list_display = [
        "started_at",
        "night",
        "area",
        "partition_display",
        "trigger",
        "status",
        "needs_considered",
        "resources_considered",
        "candidates",
        "matches_proposed",
        "quantity_matched",
        "skipped_count",
        "seconds",
    ]
    list_filter = ["status", "trigger", "partition", "night"]
    list_select_related = ["area"]
    date_hierarchy = "night"
    fields = [
        "night",
        "area",
        "partition_display",
        "trigger",
        "dry_run",
        "status",
        "started_by",
        "started_at",
        "finished_at",
        "needs_considered",
        "resources_considered",
        "candidates",
        "matches_proposed",
        "quantity_matched",
        "total_cost",
        "matches_link",
        "skipped_display",
        "timings",
        "parameters",
        "error",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("partition"), ordering="partition")
    def partition_display(self, run):
        return PARTITION_LABELS.get(run.partition, run.partition)

    @admin.display(description=_("rows skipped"))
    def skipped_count(self, run):
        return run.parameters.get("skipped_total", len(run.skipped))

    @admin.display(description=_("seconds"))
    def seconds(self, run):
        if not run.finished_at:
            return "—"
        return f"{(run.finished_at - run.started_at).total_seconds():.1f}"

    @admin.display(description=_("proposed matches"))
    def matches_link(self, run):
        url = reverse("admin:needs_match_changelist") + f"?run={run.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("See this run's matches"))

    @admin.display(description=_("rows skipped"))
    def skipped_display(self, run):
        rows = [s for s in run.skipped if s.get("kind") in ("need", "resource")]
        if not rows:
            return gettext("None: every row could be used.")
        by_reason = Counter(s["reason"] for s in rows)
        summary = format_html_join(
            ", ", "{} {}", ((skip_reason(code), n) for code, n in sorted(by_reason.items()))
        )
        kinds = {"need": gettext("need"), "resource": gettext("resource")}
        table = format_html_join(
            "",
            "<tr><td>{}</td><td>#{}</td><td>{}</td></tr>",
            ((kinds[s["kind"]], s["id"], skip_reason(s["reason"])) for s in rows[:SKIPPED_SHOWN]),
        )
        more = run.parameters.get("skipped_total", len(rows)) - min(len(rows), SKIPPED_SHOWN)
        tail = (
            format_html(
                "<p>{}</p>",
                ngettext("… and %(n)d more row.", "… and %(n)d more rows.", more) % {"n": more},
            )
            if more > 0
            else ""
        )
        return format_html("<p>{}</p><table>{}</table>{}", summary, table, tail)

    # --- start a run for my area ------------------------------------------------------------------------

    def get_urls(self):
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="needs_matchrun_start"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"may_start": has_role(request.user, ROLE.STAFF), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def start_view(self, request):
        """Start a run for one of the staff member's areas (role staff or above)."""
        if not has_role(request.user, ROLE.STAFF):
            raise PermissionDenied
        areas = self.scope(request, ROLE.STAFF).areas().order_by("path")
        form = StartRunForm(request.POST or None, areas=areas)
        if request.method == "POST" and form.is_valid():
            area = form.cleaned_data["area"]
            try:
                run = matching_run.start_area_run(area=area, actor=admin_actor(request))
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404 from exc
                if exc.status == 403:
                    raise PermissionDenied(str(exc.message)) from exc
                form.add_error("area", str(exc.message))
            else:
                # The run is recorded (committed): without a broker the task runs here and now; with one, a
                # worker picks it up.
                tasks.run_area_matching.delay(run.pk)
                run.refresh_from_db()
                if run.status == MatchRun.Status.DONE:
                    message = ngettext(
                        "The matching run for %(area)s is done: %(n)d match proposed, waiting for review.",
                        "The matching run for %(area)s is done: %(n)d matches proposed, waiting for review.",
                        run.matches_proposed,
                    ) % {"area": area.name, "n": run.matches_proposed}
                else:
                    message = gettext(
                        "The matching run for %(area)s has started: its proposals appear in the review queue "
                        "when it is done."
                    ) % {"area": area.name}
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:needs_matchrun_changelist"))
        return TemplateResponse(
            request,
            "admin/needs/matchrun/start.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "form": form,
                "title": gettext("Start a matching run for my area"),
            },
        )
