"""The match review queue in the admin: the latest night's proposals of the staff member's areas, grouped by
need (the need whose best proposal costs least first, then each need's proposals cheapest first), with the
quantity, the reasons in words, the need's public summary and the resource's title.

Bulk actions accept, decline (a page asks for the reason) and mark delivered, each through needs.matches,
one match at a time: a refused row gets its own message and changes nothing, the others go ahead. Filters:
status, run (the latest night by default, or every run), community. Nothing is edited or deleted here.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Max, OuterRef, Subquery
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from charity.admin import admin_actor
from charity.admin_base import ROLE, ScopedAdminMixin, has_role
from charity.errors import DomainError

from . import matches as match_services
from .match_reasons import reasons_in_words
from .models import NOTE_MAX, Match, MatchRun

# How many runs the run filter offers (the newest); older ones are reached with "all runs".
RUN_CHOICES = 20


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are these matches declined? (kept with each; the pairs are not proposed again)"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RunFilter(admin.SimpleListFilter):
    """The latest night's runs by default; "all runs", or one run."""

    title = _("run")
    parameter_name = "run"
    ALL = "all"

    def lookups(self, request, model_admin):
        runs = (
            MatchRun.objects.filter(pk__in=model_admin.get_queryset(request).values("run_id"))
            .select_related("area")
            .order_by("-night", "-id")[:RUN_CHOICES]
        )
        return [(str(run.pk), f"#{run.pk} {run.night:%Y-%m-%d} · {run.area.name}") for run in runs]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": gettext("latest night"),
        }
        yield {
            "selected": self.value() == self.ALL,
            "query_string": changelist.get_query_string({self.parameter_name: self.ALL}),
            "display": gettext("all runs"),
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL:
            return queryset
        if value is None:
            night = queryset.aggregate(night=Max("run__night"))["night"]
            return queryset.filter(run__night=night) if night else queryset
        if not value.isascii() or not value.isdigit() or len(value) > 18:
            return queryset.none()
        return queryset.filter(run_id=int(value))


@admin.register(Match)
class MatchAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "need__community"
    list_display = [
        "need_display",
        "resource_display",
        "quantity",
        "reasons_display",
        "cost",
        "status",
        "run_display",
    ]
    list_display_links = ["resource_display"]
    list_filter = ["status", RunFilter, ("need__community", admin.RelatedOnlyFieldListFilter)]
    sortable_by = ()  # the queue's order is its meaning: grouped by need, best first
    list_per_page = 100
    actions = ["accept_matches", "decline_matches", "fulfil_matches"]
    fields = [
        "run",
        "need",
        "resource",
        "quantity",
        "reasons_display",
        "cost",
        "cost_terms",
        "status",
        "decline_reason",
        "fulfilled_quantity",
        "decided_by",
        "decided_at",
        "fulfilled_at",
        "created_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        best = Match.objects.filter(need=OuterRef("need"), run__night=OuterRef("run__night")).order_by("cost")
        # Annotated before the ordering is applied (ModelAdmin.get_queryset would order first), then scoped.
        queryset = Match.objects.select_related("need", "need__community", "resource", "run", "run__area")
        queryset = queryset.annotate(need_best_cost=Subquery(best.values("cost")[:1]))
        return self.scoped(queryset, request).order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["need_best_cost", "need_id", "cost", "resource_id"]

    def has_add_permission(self, request, *args):
        return False  # the nightly run proposes matches

    def has_change_permission(self, request, obj=None):
        return False  # decided by the actions, through the services

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return has_role(request.user, ROLE.STAFF)

    # --- columns ---------------------------------------------------------------------------------------

    @admin.display(description=_("need"))
    def need_display(self, match):
        need = match.need
        wanted = need.quantity or 1
        return format_html(
            "<strong>#{}</strong> {}<br><span class='help'>{} · {} · {}</span>",
            need.pk,
            need.summary[:60],
            need.get_urgency_display(),
            gettext("wants %(quantity)d %(unit)s") % {"quantity": wanted, "unit": need.unit},
            need.get_status_display(),
        )

    @admin.display(description=_("resource"))
    def resource_display(self, match):
        resource = match.resource
        return format_html(
            "{}<br><span class='help'>{}</span>",
            resource.title,
            gettext("%(free)d of %(quantity)d free") % {"free": resource.free, "quantity": resource.quantity},
        )

    @admin.display(description=_("why"))
    def reasons_display(self, match):
        return reasons_in_words(match.reasons) or "—"

    @admin.display(description=_("run"))
    def run_display(self, match):
        return f"#{match.run_id} {match.run.night:%Y-%m-%d}"

    # --- actions ---------------------------------------------------------------------------------------

    def _each(self, request, queryset, do, done) -> None:
        """Run `do` on each selected match; a message per refused one, then `done(n)` for those done."""
        count = 0
        for match in queryset.select_related("need", "need__community", "resource").order_by("pk"):
            try:
                do(match)
            except DomainError as exc:
                self.message_user(
                    request,
                    gettext("Match #%(id)s (need #%(need)s ← %(title)s): %(message)s")
                    % {
                        "id": match.pk,
                        "need": match.need_id,
                        "title": match.resource.title,
                        "message": exc.message,
                    },
                    messages.ERROR,
                )
            else:
                count += 1
        if count:
            self.message_user(request, done(count), messages.SUCCESS)

    @admin.action(
        description=_("Accept the selected matches (reserves the resource)"), permissions=["review"]
    )
    def accept_matches(self, request, queryset):
        actor = admin_actor(request)
        self._each(
            request,
            queryset,
            lambda match: match_services.accept_match(match=match, actor=actor),
            lambda n: ngettext("%(n)d match accepted.", "%(n)d matches accepted.", n) % {"n": n},
        )

    @admin.action(description=_("Decline the selected matches (with a reason)"), permissions=["review"])
    def decline_matches(self, request, queryset):
        form = DeclineForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            actor, reason = admin_actor(request), form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                lambda match: match_services.decline_match(match=match, actor=actor, reason=reason),
                lambda n: ngettext("%(n)d match declined.", "%(n)d matches declined.", n) % {"n": n},
            )
            return None
        return TemplateResponse(
            request,
            "admin/needs/match/decline.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Decline matches"),
                "opts": self.model._meta,
                "form": form,
                "matches": [
                    (match, reasons_in_words(match.reasons))
                    for match in queryset.select_related("need", "resource").order_by("pk")[:200]
                ],
                "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(description=_("Mark the selected matches as delivered in full"), permissions=["review"])
    def fulfil_matches(self, request, queryset):
        actor = admin_actor(request)
        self._each(
            request,
            queryset,
            lambda match: match_services.fulfil_match(match=match, actor=actor),
            lambda n: (
                ngettext("%(n)d match marked as delivered.", "%(n)d matches marked as delivered.", n)
                % {"n": n}
            ),
        )
