"""Allocation proposals in the admin: the review page (details, budget, timeline, the vote with its tally,
recusals and the rule applied, the supervisor's opinion, objections, payments, report, documents), and one
small form per step of the lifecycle. Nothing is saved here: every write goes through governance.proposals.

The proposal page itself is read-only; each step is its own page (`<id>/step/<step>/`), so that a refusal
is shown on the form it came from with nothing changed. Documents are downloaded through a scoped view
(`<id>/attachments/<n>/`): they are kept in the database, never in a public folder (docs/allocation.md).
"""

import datetime
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, AdminSplitDateTime
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from charity.admin_base import ROLE, ScopedAdminMixin
from charity.templatetags.money import format_fen
from funds.models import Fund
from needs.models import Need

from . import admin_steps, services
from .admin_steps import AddThroughServiceMixin, ServiceAddForm, StepPagesMixin
from .admin_steps import fen_from_yuan as _fen
from .admin_steps import table as _table
from .api_proposals import MAX_PEOPLE_SERVED
from .models import (
    Ballot,
    Committee,
    Membership,
    Objection,
    Proposal,
    ProposalAttachment,
    ProposalReport,
    fraction_words,
)
from .tally import Reason, decide_from_record

S = Proposal.Status
K = ProposalAttachment.Kind


def _yuan_field(label, **kwargs):
    return forms.DecimalField(
        label=label, min_value=Decimal("0.01"), max_digits=14, decimal_places=2, **kwargs
    )


def _read_upload(upload, field: str) -> bytes:
    """The bytes of an uploaded file, refused unread when larger than a proposal's attachment may be."""
    limit = settings.PROPOSAL_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise services.ProposalError(
            _("The file is too large: at most %(mb)d MB.") % {"mb": limit // (1024 * 1024)},
            code="file_too_large",
            field=field,
        )
    return upload.read()


def _attach(proposal, upload, *, kind, actor, field, is_public=False) -> ProposalAttachment:
    try:
        return services.add_attachment(
            proposal=proposal,
            kind=kind,
            name=upload.name,
            content=_read_upload(upload, field),
            content_type=getattr(upload, "content_type", "") or "",
            is_public=is_public,
            actor=actor,
        )
    except services.ProposalError as exc:
        if exc.field == "file":
            exc.field = field
        raise


def parse_budget_lines(text: str) -> list[tuple[str, int]]:
    """Budget lines written one a line, "item, amount in yuan": "扶手，2000" or "安装 1000.50"."""
    lines = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        item, _sep, amount = line.replace("，", ",").rpartition(",")
        if not _sep:
            item, _sep, amount = line.rpartition(" ")
        try:
            yuan = Decimal(amount.strip().lstrip("¥￥").replace(",", ""))
        except Exception:
            yuan = None
        if not item.strip() or yuan is None or yuan <= 0 or yuan.as_tuple().exponent < -2:
            raise forms.ValidationError(
                gettext(
                    "Write each budget line as “item, amount in yuan”, like “扶手, 2000”: “%(line)s” is not."
                )
                % {"line": line[:50]}
            )
        lines.append((item.strip(), _fen(yuan)))
    return lines


# --- creating a proposal -----------------------------------------------------------------------------------


class ProposalAddForm(ServiceAddForm):
    """A draft, written by governance.proposals.create_proposal: checked by it before anything is saved."""

    amount_yuan = _yuan_field(_("amount (yuan)"))
    budget = forms.CharField(
        label=_("budget lines"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Optional, one a line: “item, amount in yuan”. They must add up to the amount."),
    )

    class Meta:
        model = Proposal
        fields = SERVICE_FIELDS = [
            "committee",
            "fund",
            "title",
            "summary",
            "purpose",
            "beneficiary_organization",
            "beneficiary_person",
            "proposer_person",
            "proposer_organization",
            "needs",
            "related_people",
            "related_organizations",
        ]

    field_names = {"amount_fen": "amount_yuan", "budget_lines": "budget", "beneficiary": None}

    def clean_budget(self):
        return parse_budget_lines(self.cleaned_data.get("budget") or "")

    def arguments(self) -> dict:
        data = self.cleaned_data
        return {
            **{name: data.get(name) for name in ProposalAddForm.Meta.SERVICE_FIELDS},
            "needs": list(data.get("needs") or ()),
            "related_people": list(data.get("related_people") or ()),
            "related_organizations": list(data.get("related_organizations") or ()),
            "amount_fen": _fen(data["amount_yuan"]),
            "budget_lines": data.get("budget") or (),
            "purpose": data.get("purpose") or "",
        }

    def create(self, actor):
        return services.create_proposal(actor=actor, **self.arguments())


# --- the steps ---------------------------------------------------------------------------------------------


class StepForm(admin_steps.StepForm):
    """One step of the lifecycle, on `self.proposal`."""

    record_name = "proposal"
    done_text = _("Done: the proposal is now “%(status)s”.")


class SubmitForm(StepForm):
    step, title, button = "submit", _("Submit to the committee"), _("Submit")
    help = _(
        "The fund's money is checked (unrestricted money and money restricted to the purpose, less what "
        "approved proposals will use), and the beneficiary must not be a committee member nor a donor of the "
        "restricted money spent (Charity Law arts. 40, 59)."
    )

    def perform(self, actor):
        services.submit_proposal(proposal=self.proposal, actor=actor)


class OpenVotingForm(StepForm):
    step, title, button = "open_voting", _("Put to the committee's vote"), _("Open the vote")
    help = _(
        "Every serving voting member gets a ballot; members related to the beneficiary, the proposer or a "
        "declared related party are recused at once. The vote closes at the deadline, or when every eligible "
        "member has voted."
    )
    deadline = forms.SplitDateTimeField(label=_("voting closes"), widget=AdminSplitDateTime)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deadline"].initial = timezone.localtime() + datetime.timedelta(days=7)

    def perform(self, actor):
        services.open_voting(proposal=self.proposal, deadline=self.cleaned_data["deadline"], actor=actor)


NOT_AT_MEETING = ""


class PaperBallotsForm(StepForm):
    step, title, button = "paper_ballots", _("Enter paper ballots from a meeting"), _("Record the ballots")
    help = _(
        "The secretary records the votes cast on paper at a committee meeting, with the minutes attached. "
        "Leave a member at “—” if they did not vote at the meeting."
    )
    field_names = {"minutes": "minutes", "file": "minutes"}
    minutes = forms.FileField(label=_("the meeting's minutes (PDF, PNG or JPEG)"))
    close = forms.BooleanField(
        label=_("close the vote as decided at the meeting"), required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        voting_round = self.proposal.rounds.filter(closed_at__isnull=True).first()
        self.ballots = (
            list(voting_round.ballots.select_related("membership__person").order_by("id"))
            if voting_round
            else []
        )
        choices = [(NOT_AT_MEETING, "—"), *Ballot.Choice.choices]
        for ballot in self.ballots:
            if ballot.recused:
                continue
            self.fields[f"ballot_{ballot.pk}"] = forms.ChoiceField(
                label=ballot.membership.person.name, choices=choices, required=False
            )

    def clean(self):
        data = super().clean()
        if self.ballots and not any(data.get(f"ballot_{b.pk}") for b in self.ballots if not b.recused):
            raise forms.ValidationError(gettext("Enter at least one member's vote."))
        return data

    def perform(self, actor):
        choices = {
            b.membership_id: self.cleaned_data[f"ballot_{b.pk}"]
            for b in self.ballots
            if not b.recused and self.cleaned_data.get(f"ballot_{b.pk}")
        }
        minutes = _attach(
            self.proposal, self.cleaned_data["minutes"], kind=K.MINUTES, actor=actor, field="minutes"
        )
        services.record_paper_ballots(
            proposal=self.proposal,
            choices=choices,
            minutes=minutes,
            close=self.cleaned_data["close"],
            actor=actor,
        )


class OpinionForm(StepForm):
    step, title, button = "opinion", _("Record the supervisor's opinion"), _("Record the opinion")
    help = _("Verbatim, as the supervisor gave it: the supervisor attends but does not vote.")
    supervisor = forms.ModelChoiceField(label=_("supervisor"), queryset=Membership.objects.none())
    text = forms.CharField(label=_("opinion"), widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].queryset = Membership.objects.filter(
            committee_id=self.proposal.committee_id, role=Membership.Role.SUPERVISOR
        ).select_related("person")
        self.fields["supervisor"].label_from_instance = lambda m: m.person.name

    def perform(self, actor):
        services.record_supervisor_opinion(
            proposal=self.proposal,
            membership=self.cleaned_data["supervisor"],
            text=self.cleaned_data["text"],
            actor=actor,
        )


class AnswerObjectionForm(StepForm):
    step, title, button = "answer", _("Answer an objection"), _("Record the answer")
    help = _(
        "The committee's answer is published with the objection (never the objector's name). Upheld: the "
        "proposal goes back to a vote. Dismissed: once the notice has ended with no objection open, it "
        "can be paid."
    )
    field_names = {"text": "text", "answer": "answer", "deadline": "deadline"}
    objection = forms.ModelChoiceField(label=_("objection"), queryset=Objection.objects.none())
    answer = forms.ChoiceField(label=_("decision"), choices=Objection.Answer.choices)
    text = forms.CharField(label=_("the committee's answer"), widget=forms.Textarea(attrs={"rows": 5}))
    deadline = forms.SplitDateTimeField(
        label=_("if upheld: the new vote closes"),
        required=False,
        widget=AdminSplitDateTime,
        help_text=_("Empty: in seven days."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["objection"]
        field.queryset = Objection.objects.filter(proposal=self.proposal, answer="").order_by("id")
        field.label_from_instance = lambda o: f"{timezone.localtime(o.created_at):%Y-%m-%d} · {o.reason[:80]}"

    def perform(self, actor):
        data = self.cleaned_data
        services.answer_objection(
            objection=data["objection"],
            answer=data["answer"],
            text=data["text"],
            deadline=data.get("deadline"),
            actor=actor,
        )


class DisburseForm(StepForm):
    step, title, button = "disburse", _("Record a payment"), _("Record the payment")
    help = _(
        "What the host paid, in one tranche: the withdrawal is posted to the fund's ledger with it. Tranches "
        "add up to at most the approved amount."
    )
    field_names = {"amount_fen": "amount_yuan"}
    amount_yuan = _yuan_field(_("amount paid (yuan)"))
    paid_on = forms.DateField(label=_("paid on"), widget=AdminDateWidget)
    reference = forms.CharField(label=_("host's payment reference"), max_length=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()

    def perform(self, actor):
        data = self.cleaned_data
        services.disburse(
            proposal=self.proposal,
            amount_fen=_fen(data["amount_yuan"]),
            paid_on=data["paid_on"],
            reference=data["reference"],
            actor=actor,
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class ReportForm(StepForm):
    step, title, button = "report", _("Submit the report"), _("Submit the report")
    help = _(
        "What the money did, with receipts and photos (PDF, PNG or JPEG). Pictures are resized and their "
        "metadata (a phone's location, its owner's name) removed before they are kept."
    )
    field_names = {"people_served": "people_served", "outcomes": "outcomes"}
    outcomes = forms.CharField(label=_("what the money did"), widget=forms.Textarea(attrs={"rows": 6}))
    people_served = forms.IntegerField(
        label=_("people served"), required=False, min_value=0, max_value=MAX_PEOPLE_SERVED
    )
    receipts = MultipleFileField(label=_("receipts or invoices"), required=False)
    photos = MultipleFileField(label=_("photos"), required=False)
    publish = forms.BooleanField(
        label=_("show these receipts and photos on the portal"), required=False, initial=True
    )

    def perform(self, actor):
        data = self.cleaned_data
        with transaction.atomic():  # the report and its files, together or not at all
            services.submit_report(
                proposal=self.proposal,
                outcomes=data["outcomes"],
                people_served=data.get("people_served"),
                actor=actor,
            )
            for field, kind in (("receipts", K.RECEIPT), ("photos", K.PHOTO)):
                for upload in data.get(field) or ():
                    _attach(
                        self.proposal, upload, kind=kind, actor=actor, field=field, is_public=data["publish"]
                    )


class CloseForm(StepForm):
    step, title, button = "close", _("Close the proposal"), _("Close")
    help = _("What was approved and not paid is released back to the fund's use.")

    def perform(self, actor):
        services.close_proposal(proposal=self.proposal, actor=actor)


class WithdrawForm(StepForm):
    step, title, button = "withdraw", _("Withdraw the proposal"), _("Withdraw")
    help = _("Possible at any point before the first payment; an open vote closes without an outcome.")
    reason = forms.CharField(label=_("why it is withdrawn"), widget=forms.Textarea(attrs={"rows": 3}))

    def perform(self, actor):
        services.withdraw_proposal(proposal=self.proposal, reason=self.cleaned_data["reason"], actor=actor)


class AttachForm(StepForm):
    step, title, button = "attach", _("Attach a document"), _("Attach")
    help = _(
        "A quote, a plan, a receipt or a photo: a PDF, PNG or JPEG file. Only report photos and receipts "
        "may be shown on the portal."
    )
    field_names = {"file": "file", "is_public": "is_public", "kind": "kind"}
    kind = forms.ChoiceField(label=_("kind"), choices=ProposalAttachment.Kind.choices)
    file = forms.FileField(label=_("file"))
    is_public = forms.BooleanField(label=_("shown on the portal"), required=False)

    def perform(self, actor):
        data = self.cleaned_data
        _attach(
            self.proposal,
            data["file"],
            kind=data["kind"],
            actor=actor,
            field="file",
            is_public=data["is_public"],
        )

    def done_message(self):
        return gettext("The document was attached.")


STEP_FORMS = {
    form.step: form
    for form in (
        SubmitForm,
        OpenVotingForm,
        PaperBallotsForm,
        OpinionForm,
        AnswerObjectionForm,
        DisburseForm,
        ReportForm,
        CloseForm,
        WithdrawForm,
        AttachForm,
    )
}

# The steps offered on a proposal's page in each status (the services refuse any other anyway).
STEPS_BY_STATUS = {
    S.DRAFT: ("submit", "withdraw"),
    S.SUBMITTED: ("open_voting", "withdraw"),
    S.VOTING: ("paper_ballots", "opinion", "withdraw"),
    S.REJECTED: ("opinion",),
    S.NOTICE: ("answer", "opinion", "withdraw"),
    S.OBJECTION_REVIEW: ("answer", "withdraw"),
    S.PAYABLE: ("disburse", "withdraw"),
    S.DISBURSED: ("disburse", "report"),
    S.REPORTED: ("close",),
    S.CLOSED: (),
    S.WITHDRAWN: (),
}


# --- the list ----------------------------------------------------------------------------------------------


def overdue_reports(queryset):
    return queryset.filter(status=S.DISBURSED, report_overdue_flagged_at__isnull=False)


class OverdueReportFilter(admin.SimpleListFilter):
    title = _("report")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue (paid 90 days ago, unreported)"))]

    def queryset(self, request, queryset):
        return overdue_reports(queryset) if self.value() == "yes" else queryset


REASON_WORDS = {
    Reason.APPROVED: _("approved"),
    Reason.NO_QUORUM: _("rejected: the quorum was not met"),
    Reason.NOT_ENOUGH_YES: _("rejected: not enough yes votes"),
    Reason.NO_ELIGIBLE_MEMBERS: _("rejected: no eligible member could vote"),
}


def rule_in_words(outcome) -> str:
    """The rule a vote was decided by, and the numbers that met it or fell short."""
    rules, tally = outcome.rules, outcome.tally
    if outcome.high_amount:
        approval = gettext("at least %(fraction)s of those taking part vote yes (above %(threshold)s)") % {
            "fraction": fraction_words(rules.high_approval_numerator, rules.high_approval_denominator),
            "threshold": format_fen(rules.high_amount_threshold_fen),
        }
    else:
        approval = gettext("more than %(fraction)s of those taking part vote yes") % {
            "fraction": fraction_words(rules.approval_numerator, rules.approval_denominator)
        }
    return gettext(
        "Quorum: at least %(quorum)s of the %(eligible)d eligible members take part — %(quorum_needed)d "
        "needed, %(taking_part)d took part. Approval: %(approval)s — %(yes_needed)d needed, %(yes)d voted "
        "yes (%(no)d no, %(abstain)d abstained). Outcome: %(outcome)s."
    ) % {
        "quorum": fraction_words(rules.quorum_numerator, rules.quorum_denominator),
        "eligible": tally.eligible,
        "quorum_needed": outcome.quorum_needed,
        "taking_part": tally.taking_part,
        "approval": approval,
        "yes_needed": outcome.yes_needed,
        "yes": tally.yes,
        "no": tally.no,
        "abstain": tally.abstain,
        "outcome": REASON_WORDS.get(outcome.reason, outcome.reason),
    }


DETAIL_FIELDS = [
    "title",
    "status",
    "committee",
    "fund",
    "summary",
    "amount",
    "purpose",
    "beneficiary",
    "proposer",
    "related_parties",
    "needs_served",
]
MONEY_FIELDS = [
    "approved",
    "disbursed",
    "released",
    "voting_deadline",
    "notice_starts_at",
    "notice_ends_at",
    "report_overdue",
]
RECORD_FIELDS = [
    "budget_table",
    "timeline_table",
    "vote_table",
    "objections_table",
    "disbursements_table",
    "report_block",
    "attachments_table",
]


@admin.register(Proposal)
class ProposalAdmin(AddThroughServiceMixin, StepPagesMixin, ScopedAdminMixin, admin.ModelAdmin):
    scope_area_field = "fund__community"
    form = ProposalAddForm
    step_forms = STEP_FORMS
    steps_by_status = STEPS_BY_STATUS
    step_template = "admin/governance/proposal/step.html"
    list_display = [
        "title",
        "fund",
        "status",
        "amount",
        "approved",
        "disbursed",
        "report_overdue",
        "created_at",
    ]
    list_filter = ["status", ("fund", admin.RelatedOnlyFieldListFilter), OverdueReportFilter]
    list_select_related = ["fund"]
    search_fields = ["title"]
    filter_horizontal = ["needs", "related_people", "related_organizations"]
    add_fieldsets = [
        (None, {"fields": ["committee", "fund", "title", "summary", "amount_yuan", "budget", "purpose"]}),
        (
            _("Who receives it, who proposes it"),
            {
                "fields": [
                    "beneficiary_organization",
                    "beneficiary_person",
                    "proposer_person",
                    "proposer_organization",
                    "needs",
                    "related_people",
                    "related_organizations",
                ]
            },
        ),
    ]
    fieldsets = [
        (None, {"fields": DETAIL_FIELDS}),
        (_("Money and dates"), {"fields": MONEY_FIELDS}),
        (_("The record"), {"fields": RECORD_FIELDS}),
    ]

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [*DETAIL_FIELDS, *MONEY_FIELDS, *RECORD_FIELDS]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("fund", "committee")

    # The page of a proposal is its record: read here, changed only by the steps (StepPagesMixin).

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is None:
            return field
        scope = self.scope(request, ROLE.STAFF)
        if db_field.name == "committee":
            field.queryset = scope.filter(Committee.objects.select_related("fund"), "fund__community")
        elif db_field.name == "fund":
            field.queryset = scope.filter(
                Fund.objects.filter(kind__in=[Fund.Kind.COMMUNITY, Fund.Kind.NAMED], closed_on__isnull=True),
                "community",
            )
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name == "needs":
            field.queryset = self.scope(request, ROLE.STAFF).filter(Need.objects.all(), "community")
        return field

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, gettext("The draft was saved. Submit it to the committee when ready."))
        return redirect(reverse("admin:governance_proposal_change", args=[obj.pk]))

    # --- list and page columns --------------------------------------------------------------------------

    @admin.display(description=_("amount"), ordering="amount_fen")
    def amount(self, obj):
        return format_fen(obj.amount_fen)

    @admin.display(description=_("approved amount"))
    def approved(self, obj):
        return format_fen(obj.approved_fen) if obj.approved_fen else "—"

    @admin.display(description=_("paid so far"))
    def disbursed(self, obj):
        return format_fen(obj.disbursed_fen) if obj.disbursed_fen else "—"

    @admin.display(description=_("released at closing"))
    def released(self, obj):
        return format_fen(obj.released_fen) if obj.released_fen else "—"

    @admin.display(description=_("report overdue"), boolean=True)
    def report_overdue(self, obj):
        return obj.status == S.DISBURSED and obj.report_overdue_flagged_at is not None

    @admin.display(description=_("beneficiary"))
    def beneficiary(self, obj):
        return obj.beneficiary_organization or obj.beneficiary_person

    @admin.display(description=_("proposed by"))
    def proposer(self, obj):
        return obj.proposer_organization or obj.proposer_person or obj.created_by or "—"

    @admin.display(description=_("declared related parties"))
    def related_parties(self, obj):
        names = [str(p) for p in obj.related_people.all()] + [str(o) for o in obj.related_organizations.all()]
        return gettext(", ").join(names) or "—"

    @admin.display(description=_("needs it serves"))
    def needs_served(self, obj):
        return gettext(", ").join(n.summary[:40] for n in obj.needs.all()) or "—"

    @admin.display(description=_("budget lines"))
    def budget_table(self, obj):
        rows = [(line.item, format_fen(line.amount_fen)) for line in obj.budget_lines.all()]
        return _table([gettext("item"), gettext("amount")], rows)

    @admin.display(description=_("timeline"))
    def timeline_table(self, obj):
        rows = [
            (
                f"{timezone.localtime(step.at):%Y-%m-%d %H:%M}",
                step.get_to_status_display(),
                step.note_display() or "—",
            )
            for step in obj.timeline.all()
        ]
        return _table([gettext("when"), gettext("status"), gettext("note")], rows)

    @admin.display(description=_("the vote"))
    def vote_table(self, obj):
        voting_round = obj.rounds.order_by("-number").first()
        if voting_round is None:
            return gettext("Not put to the vote yet.")
        ballots = voting_round.ballots.select_related("membership__person", "membership__organization")
        rows = []
        for ballot in ballots.order_by("id"):
            member = ballot.membership
            if ballot.recused:
                how = gettext("recused: %(why)s") % {"why": ballot.get_recused_display()}
                if ballot.recusal_note:
                    how += f" ({ballot.recusal_note})"
            else:
                how = ballot.get_choice_display() or gettext("has not voted")
            rows.append(
                (
                    member.person.name,
                    member.organization or gettext("resident representative"),
                    how,
                    ballot.reason or "—",
                    gettext("paper ballot") if ballot.at_meeting else "",
                )
            )
        status = (
            gettext("Round %(n)d, open until %(deadline)s.")
            % {
                "n": voting_round.number,
                "deadline": f"{timezone.localtime(voting_round.deadline):%Y-%m-%d %H:%M}",
            }
            if voting_round.closed_at is None
            else gettext("Round %(n)d, closed %(when)s (%(because)s).")
            % {
                "n": voting_round.number,
                "when": f"{timezone.localtime(voting_round.closed_at):%Y-%m-%d %H:%M}",
                "because": voting_round.get_closed_because_display() or voting_round.reason,
            }
        )
        rule = rule_in_words(decide_from_record(voting_round.record)) if voting_round.record else ""
        opinions = format_html_join(
            "",
            "<p><strong>{}</strong> {}: “{}”</p>",
            (
                (gettext("Supervisor's opinion"), o.membership.person.name, o.text)
                for o in voting_round.opinions.select_related("membership__person")
            ),
        )
        table = _table(
            [gettext("member"), gettext("represents"), gettext("vote"), gettext("reason"), ""], rows
        )
        return format_html("<p>{}</p>{}<p>{}</p>{}", status, table, rule, opinions)

    @admin.display(description=_("objections"))
    def objections_table(self, obj):
        rows = [
            (
                f"{timezone.localtime(o.created_at):%Y-%m-%d}",
                o.person.name,
                o.reason,
                o.get_answer_display() or gettext("not answered yet"),
                o.answer_text or "—",
            )
            for o in obj.objections.select_related("person").order_by("id")
        ]
        return _table(
            [
                gettext("raised"),
                gettext("objector"),
                gettext("reason"),
                gettext("decision"),
                gettext("answer"),
            ],
            rows,
        )

    @admin.display(description=_("payments"))
    def disbursements_table(self, obj):
        rows = [
            (f"{d.paid_on:%Y-%m-%d}", format_fen(d.amount_fen), d.reference, f"#{d.transaction_id}")
            for d in obj.disbursements.order_by("paid_on", "id")
        ]
        return _table(
            [gettext("paid on"), gettext("amount"), gettext("reference"), gettext("ledger transaction")], rows
        )

    @admin.display(description=_("report"))
    def report_block(self, obj):
        try:
            report = obj.report
        except ProposalReport.DoesNotExist:
            return gettext("No report yet.")
        served = (
            gettext("%(n)d people served.") % {"n": report.people_served}
            if report.people_served is not None
            else ""
        )
        return format_html("<p>{}</p><p>{}</p>", report.outcomes, served)

    @admin.display(description=_("documents"))
    def attachments_table(self, obj):
        rows = []
        for a in obj.attachments.defer("data").order_by("id"):
            url = reverse("admin:governance_proposal_attachment", args=[obj.pk, a.pk])
            rows.append(
                (
                    format_html('<a href="{}">{}</a>', url, a.name),
                    a.get_kind_display(),
                    f"{a.size // 1024 + 1} KB",
                    gettext("shown") if a.is_public else "—",
                )
            )
        return _table([gettext("file"), gettext("kind"), gettext("size"), gettext("on the portal")], rows)

    # --- the steps and the documents --------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "<int:pk>/attachments/<int:attachment_pk>/",
                self.admin_site.admin_view(self.attachment_view),
                name="governance_proposal_attachment",
            ),
            *super().get_urls(),
        ]

    def step_names(self, proposal) -> list:
        if proposal.status == S.WITHDRAWN:
            return []
        names = [*STEPS_BY_STATUS.get(proposal.status, ()), "attach"]
        if "answer" in names and not proposal.objections.filter(answer="").exists():
            names.remove("answer")
        return names

    def step_context(self, proposal, form) -> dict:
        return {"amount": format_fen(proposal.amount_fen)}

    def attachment_view(self, request, pk, attachment_pk):
        """A document's bytes, to staff (viewers included) of the proposal's community: as a download, with
        the type checked when it was kept, never sniffed by the browser. Out of scope is 404."""
        proposal = self.record_for(request, pk, ROLE.VIEWER)
        attachment = ProposalAttachment.objects.filter(proposal=proposal, pk=attachment_pk).first()
        if attachment is None:
            raise Http404
        response = HttpResponse(bytes(attachment.data), content_type=attachment.content_type)
        # A name sent through the API may hold a line break, which no header may carry.
        name = " ".join(attachment.name.split()) or "file"
        response["Content-Disposition"] = content_disposition_header(True, name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


def overdue_report_count(user) -> int:
    """How many paid proposals in the user's areas have an overdue report (the admin index's line)."""
    from charity.scoping import scope_for_user

    scope = scope_for_user(user)
    if not scope.everything and not scope.paths:
        return 0
    return scope.filter(overdue_reports(Proposal.objects.all()), "fund__community").count()
