"""Allocation proposals over the REST API: shapes here, every rule in governance.proposals.

Who may call what (docs/allocation.md, "The API"):
- reading: staff see the proposals of their areas; an organisation's key sees, in the areas it serves, every
  proposal past its draft (with tallies, ballots of closed votes, objections without their authors) and its
  own drafts;
- `POST /proposals/` and `submit/`: staff of the community, or a key serving it (for its own proposals);
- `votes/`: a committee member's own login (a session); a key is refused with 403;
- `objections/`: a logged-in resident of the fund's community; a key is refused with 403;
- `disbursements/`: staff of the community;
- `report/`: staff, or the key of the organisation that received the money.

No resident is named here: a person beneficiary is `"beneficiary_kind": "person"` without a name, and an
objection carries no objector. Committee members are named, with their votes: voting on public money is a
public act (the portal shows who voted how); ballots are shown once the vote has closed, never while it runs.
"""

import base64
import binascii

import django_filters
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from charity.api_auth import IsStaffOrOrganizationKey, is_api_key
from charity.api_common import (
    IDEMPOTENCY_KEY_PARAMETER,
    ScopedQuerysetMixin,
    StrictBooleanField,
    StrictCharField,
    StrictPrimaryKeyRelatedField,
    idempotent,
)
from charity.api_filters import IdFilter
from charity.errors import ForbiddenError
from charity.models import AuditEvent, Organization, StaffAssignment
from charity.scoping import scope_for_request
from charity.services import Actor
from funds.api import StrictAmountField
from funds.models import Fund
from needs.models import Need
from resources.api import StrictBooleanFilter

from . import services
from .models import (
    Ballot,
    Committee,
    Disbursement,
    Membership,
    Objection,
    Proposal,
    ProposalAttachment,
    ProposalReport,
    SupervisorOpinion,
    VotingRound,
)
from .tally import decide_from_record

S = Proposal.Status
# The most people a report may say it served: within the column's integer range on every database.
MAX_PEOPLE_SERVED = 100_000_000


def write_scope(request):
    """Where the caller may propose: a key's served areas, or areas where the user is staff or more."""
    return scope_for_request(request, min_role=StaffAssignment.Role.STAFF)


# --- reading -----------------------------------------------------------------------------------------------


class BudgetLineSerializer(serializers.Serializer):
    item = serializers.CharField()
    amount_fen = serializers.IntegerField()


class BallotSerializer(serializers.Serializer):
    member = serializers.CharField(source="membership.person.name")
    organization = serializers.CharField(source="membership.organization.name", allow_null=True, default=None)
    role = serializers.CharField(source="membership.role")
    choice = serializers.CharField(help_text="yes, no, abstain, or empty: did not vote (or recused).")
    reason = serializers.CharField()
    recused = serializers.CharField(
        help_text="Empty, or why the member did not vote: beneficiary, proposer, declared_party, declared."
    )
    recusal_note = serializers.CharField(help_text="The conflict the member declared, in their words.")
    at_meeting = serializers.BooleanField(help_text="Recorded by the secretary from a paper ballot.")


class OpinionSerializer(serializers.Serializer):
    supervisor = serializers.CharField(source="membership.person.name")
    text = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class RoundSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    closed_because = serializers.CharField()
    approved = serializers.BooleanField(allow_null=True)
    reason = serializers.CharField(
        help_text="approved, no_quorum, not_enough_yes or no_eligible_members; empty while open."
    )
    record = serializers.JSONField(
        allow_null=True,
        help_text="What the outcome was computed from: the rules, the tally and the amount. Anyone can "
        "recompute it (docs/allocation.md).",
    )
    quorum_needed = serializers.SerializerMethodField()
    yes_needed = serializers.SerializerMethodField()
    high_amount = serializers.SerializerMethodField()
    voted = serializers.SerializerMethodField(help_text="How many eligible members have voted so far.")
    ballots = serializers.SerializerMethodField(help_text="Who voted how: once the vote has closed.")
    opinions = OpinionSerializer(many=True, read_only=True, help_text="The supervisor's opinion, verbatim.")

    def _outcome(self, obj):
        return decide_from_record(obj.record) if obj.record else None

    def get_quorum_needed(self, obj) -> int | None:
        outcome = self._outcome(obj)
        return outcome.quorum_needed if outcome else None

    def get_yes_needed(self, obj) -> int | None:
        outcome = self._outcome(obj)
        return outcome.yes_needed if outcome else None

    def get_high_amount(self, obj) -> bool | None:
        outcome = self._outcome(obj)
        return outcome.high_amount if outcome else None

    def get_voted(self, obj) -> int:
        return sum(1 for b in obj.ballots.all() if b.choice)

    @extend_schema_field(BallotSerializer(many=True))
    def get_ballots(self, obj):
        if obj.closed_at is None:
            return []  # a vote is secret from the public until it closes: no one votes with the crowd
        return BallotSerializer(obj.ballots.all(), many=True).data


class StepSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    note = serializers.CharField(
        source="note_display", help_text="In the language asked for (Accept-Language)."
    )


class ObjectionSerializer(serializers.Serializer):
    """An objection without its author: residents are never named here."""

    id = serializers.IntegerField()
    notice_round = serializers.IntegerField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    answer = serializers.CharField(help_text="Empty while unanswered, else upheld or dismissed.")
    answer_text = serializers.CharField()
    answered_at = serializers.DateTimeField(allow_null=True)


class DisbursementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Disbursement
        fields = ["id", "amount_fen", "paid_on", "reference", "transaction", "recorded_at"]


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    is_public = serializers.BooleanField()


class ReportSerializer(serializers.Serializer):
    outcomes = serializers.CharField()
    people_served = serializers.IntegerField(allow_null=True)
    submitted_at = serializers.DateTimeField()


class ProposalSerializer(serializers.ModelSerializer):
    beneficiary_kind = serializers.SerializerMethodField(help_text="organization or person.")
    beneficiary_organization = serializers.SerializerMethodField(
        help_text="{id, name} of the organisation that receives the money; null for a person (never named)."
    )
    report_overdue = serializers.SerializerMethodField(
        help_text="Paid, and unreported 90 days after the first payment."
    )
    budget_lines = BudgetLineSerializer(many=True, read_only=True)
    rounds = RoundSerializer(many=True, read_only=True)
    timeline = StepSerializer(many=True, read_only=True)
    objections = ObjectionSerializer(many=True, read_only=True)
    disbursements = DisbursementSerializer(many=True, read_only=True)
    report = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField(
        help_text="Documents on file: staff see all; an organisation's key the public photos and receipts "
        "and those it sent."
    )

    class Meta:
        model = Proposal
        fields = [
            "id",
            "committee",
            "fund",
            "title",
            "summary",
            "amount_fen",
            "purpose",
            "status",
            "beneficiary_kind",
            "beneficiary_organization",
            "proposer_organization",
            "needs",
            "budget_lines",
            "voting_deadline",
            "notice_starts_at",
            "notice_ends_at",
            "approved_fen",
            "disbursed_fen",
            "released_fen",
            "report_overdue",
            "created_at",
            "submitted_at",
            "first_paid_on",
            "closed_at",
            "rounds",
            "timeline",
            "objections",
            "disbursements",
            "report",
            "attachments",
        ]

    def get_beneficiary_kind(self, obj) -> str:
        return "organization" if obj.beneficiary_organization_id else "person"

    def get_beneficiary_organization(self, obj) -> dict | None:
        org = obj.beneficiary_organization
        return {"id": org.pk, "name": org.name} if org else None

    def get_report_overdue(self, obj) -> bool:
        return obj.report_overdue_flagged_at is not None and obj.status == S.DISBURSED

    @extend_schema_field(ReportSerializer(allow_null=True))
    def get_report(self, obj):
        try:
            report = obj.report
        except ProposalReport.DoesNotExist:
            return None
        return ReportSerializer(report).data

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, obj):
        request = self.context.get("request")
        rows = obj.attachments.all()
        if request is not None and is_api_key(request):
            own = request.auth.organization_id in (
                obj.proposer_organization_id,
                obj.beneficiary_organization_id,
            )
            rows = [a for a in rows if a.is_public or own]
        return AttachmentSerializer(rows, many=True).data


def proposals_with_everything():
    """Proposals with every row the serialiser reads, in a fixed number of queries whatever their number."""
    return (
        Proposal.objects.select_related("beneficiary_organization", "report")
        .prefetch_related(
            "budget_lines",
            "needs",
            "timeline",
            "disbursements",
            Prefetch("objections", queryset=Objection.objects.order_by("id")),
            Prefetch(
                "attachments",
                queryset=ProposalAttachment.objects.defer("data").order_by("id"),
            ),
            Prefetch(
                "rounds",
                queryset=VotingRound.objects.order_by("number").prefetch_related(
                    Prefetch(
                        "ballots",
                        queryset=Ballot.objects.select_related(
                            "membership__person", "membership__organization"
                        ).order_by("id"),
                    ),
                    Prefetch(
                        "opinions",
                        queryset=SupervisorOpinion.objects.select_related("membership__person"),
                    ),
                ),
            ),
        )
        .order_by("-created_at", "-id")
    )


class ProposalFilter(django_filters.FilterSet):
    fund = IdFilter(field_name="fund_id", label="Proposals spending from this fund: a fund id")
    committee = IdFilter(field_name="committee_id", label="Proposals of this committee: a committee id")
    report_overdue = StrictBooleanFilter(
        method="filter_report_overdue", label="true: paid proposals whose report is overdue"
    )

    class Meta:
        model = Proposal
        fields = ["fund", "committee", "status"]

    def filter_report_overdue(self, queryset, name, value):
        overdue = Q(status=S.DISBURSED, report_overdue_flagged_at__isnull=False)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


# --- writing -----------------------------------------------------------------------------------------------


class ScopedFundField(StrictPrimaryKeyRelatedField):
    """An open community fund (or named fund) where the caller may propose; any other id reads as absent."""

    def get_queryset(self):
        return write_scope(self.context["request"]).filter(
            Fund.objects.select_related("community", "parent"), "community"
        )


class ScopedOrganizationField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Organization.objects.all(), "area")


class ScopedNeedField(StrictPrimaryKeyRelatedField):
    def get_queryset(self):
        return write_scope(self.context["request"]).filter(Need.objects.all(), "community")


class BudgetLineInput(serializers.Serializer):
    item = StrictCharField(max_length=None, help_text="At most 200 characters.")
    amount_fen = StrictAmountField()


class ProposalCreateSerializer(serializers.Serializer):
    fund = ScopedFundField(
        help_text="The community fund, or one of its named funds, in your scope; its committee decides."
    )
    title = StrictCharField(max_length=None, help_text="At most 200 characters.")
    summary = StrictCharField(
        max_length=None,
        help_text="Public during notice: what the money is for. No phone or ID numbers (refused).",
    )
    amount_fen = StrictAmountField()
    purpose = StrictCharField(
        max_length=None,
        required=False,
        allow_blank=True,
        default="",
        help_text="Empty to spend unrestricted money; else the restricted purpose it is spent on.",
    )
    beneficiary_organization = ScopedOrganizationField(
        help_text="The organisation that receives the money, among those of your areas. (A person "
        "beneficiary is entered by staff in the admin.)"
    )
    budget_lines = BudgetLineInput(
        many=True, required=False, default=list, help_text="When given, they add up to amount_fen."
    )
    needs = ScopedNeedField(many=True, required=False, default=list)
    related_organizations = ScopedOrganizationField(
        many=True,
        required=False,
        default=list,
        help_text="Declared related parties: committee members representing them recuse.",
    )


class VoteInput(serializers.Serializer):
    choice = serializers.ChoiceField(
        choices=Ballot.Choice.choices, required=False, help_text="yes, no or abstain."
    )
    reason = StrictCharField(max_length=None, required=False, allow_blank=True, default="")
    conflict = StrictCharField(
        max_length=None,
        required=False,
        help_text="Instead of a choice: declare a conflict of interest (recused from this vote).",
    )

    def validate(self, data):
        if ("choice" in data) == ("conflict" in data):
            raise serializers.ValidationError(
                _("Give either a choice (yes, no or abstain) or a conflict to declare, not both.")
            )
        return data


class VoteResult(serializers.Serializer):
    choice = serializers.CharField()
    reason = serializers.CharField()
    recused = serializers.CharField()
    voted_at = serializers.DateTimeField(allow_null=True)
    proposal_status = serializers.CharField(help_text="voting, or what the vote led to once it closed.")


class ObjectionInput(serializers.Serializer):
    reason = StrictCharField(max_length=None, help_text="Why you object: at most 1000 characters.")


class DisbursementInput(serializers.Serializer):
    amount_fen = StrictAmountField()
    paid_on = serializers.DateField(help_text="The day the host paid: today or earlier.")
    reference = StrictCharField(max_length=None, help_text="The host's payment reference (≤ 100).")


class AttachmentInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[ProposalAttachment.Kind.RECEIPT, ProposalAttachment.Kind.PHOTO])
    name = StrictCharField(max_length=None)
    content_base64 = StrictCharField(
        max_length=None,
        trim_whitespace=False,
        help_text="The file, base64-encoded: a PDF, PNG or JPEG (the body is at most 2.5 MB in all).",
    )
    is_public = StrictBooleanField(default=False, help_text="Shown on the portal.")

    def validate_content_base64(self, value):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(_("This is not base64-encoded content.")) from None


class ReportInput(serializers.Serializer):
    outcomes = StrictCharField(max_length=None, help_text="What the money did (≤ 5000).")
    people_served = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=MAX_PEOPLE_SERVED
    )
    attachments = AttachmentInput(many=True, required=False, default=list)


class ReportResult(ReportSerializer):
    attachments = AttachmentSerializer(many=True)


# --- permissions -------------------------------------------------------------------------------------------


class OwnLogin(BasePermission):
    """A person's own login (a session), never an organisation's key: votes and objections are personal."""

    message = _("This needs a person's own login: an organisation's API key cannot do it.")

    def has_permission(self, request, view):
        if is_api_key(request):
            raise exceptions.PermissionDenied(view.key_refusal)
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated(_("Log in to do this."))
        return True


def _person(request):
    return getattr(request.user, "person", None)


DESCRIPTION_LIST = (
    "Proposals of your areas, newest first. Staff see every proposal; an organisation's key sees, in the "
    "areas it serves, every proposal past its draft and its own drafts. Each carries its timeline, its "
    "votes (the stored tally, the rules applied and the least numbers that would have met them; who voted "
    "how once the vote has closed), the supervisor's opinion, objections with the committee's answers "
    "(never who objected), payments and the report."
)


@extend_schema_view(
    list=extend_schema(summary="List allocation proposals", description=DESCRIPTION_LIST),
    retrieve=extend_schema(
        summary="One allocation proposal",
        description="Any id you may not read is 404, as one that is absent.",
    ),
    create=extend_schema(
        summary="Draft an allocation proposal (accepts Idempotency-Key)",
        description="A draft for the committee of `fund` (a community fund or one of its named funds in "
        "your scope). A key proposes as its organisation. Refused with 400 and the field at fault: an empty "
        "title or summary, a phone or ID number in the summary, budget lines that do not add up, a fund or "
        "organisation outside your scope (answered as one that does not exist), a fund without a committee.",
        request=ProposalCreateSerializer,
        responses={201: ProposalSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    ),
)
class ProposalViewSet(ScopedQuerysetMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    scope_area_field = "fund__community"
    serializer_class = ProposalSerializer
    queryset = proposals_with_everything()
    filterset_class = ProposalFilter
    key_refusal = ""

    def get_permissions(self):
        if self.action in ("votes", "objections"):
            return [OwnLogin()]
        return [IsStaffOrOrganizationKey()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator, without a user
            return Proposal.objects.none()
        if self.action == "votes":
            return self._for_member()
        if self.action == "objections":
            return self._for_resident()
        queryset = super().get_queryset()
        if is_api_key(self.request):
            queryset = queryset.filter(
                ~Q(status=S.DRAFT) | Q(proposer_organization=self.request.auth.organization_id)
            )
        return queryset

    def _for_member(self):
        """Proposals of the committees the user sits on; any other reads as absent."""
        seated = Membership.objects.filter(committee=OuterRef("committee"), person__user=self.request.user)
        return (
            Proposal.objects.select_related("committee", "fund")
            .filter(Exists(seated))
            .exclude(status=S.DRAFT)
        )

    def _for_resident(self):
        """Proposals of the user's own community past their draft; any other reads as absent."""
        person = _person(self.request)
        if person is None:
            raise ForbiddenError(_("Log in as a resident of the community to object."), code="login_required")
        return (
            Proposal.objects.select_related("committee", "fund")
            .filter(fund__community_id=person.community_id)
            .exclude(status=S.DRAFT)
        )

    def _actor(self):
        return Actor.from_request(self.request, AuditEvent.Surface.API)

    def _fresh(self, proposal):
        return ProposalSerializer(
            proposals_with_everything().get(pk=proposal.pk), context=self.get_serializer_context()
        ).data

    @idempotent
    def create(self, request, *args, **kwargs):
        incoming = ProposalCreateSerializer(data=request.data, context=self.get_serializer_context())
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        fund = data.pop("fund")
        committee = Committee.objects.filter(fund_id=fund.parent_id or fund.pk).first()
        if committee is None:
            raise exceptions.ValidationError(
                {"fund": [_("This fund has no management committee yet: nothing can be proposed.")]}
            )
        proposal = services.create_proposal(
            committee=committee,
            fund=fund,
            actor=self._actor(),
            budget_lines=[(line["item"], line["amount_fen"]) for line in data.pop("budget_lines")],
            **data,
        )
        return Response(self._fresh(proposal), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Submit a draft to the committee (accepts Idempotency-Key)",
        description="Draft → submitted, after checking that the fund can cover it (its unrestricted money "
        "and money restricted to its purpose, less what approved proposals will use) and that the "
        "beneficiary is neither a committee member nor a donor of the restricted money spent (Charity Law "
        "arts. 40, 59). 409 `wrong_status` if it is no draft; 400 `insufficient_funds`, "
        "`beneficiary_is_manager`, `beneficiary_is_donor`.",
        request=None,
        responses={200: ProposalSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, pk=None):
        proposal = services.submit_proposal(proposal=self.get_object(), actor=self._actor())
        return Response(self._fresh(proposal))

    @extend_schema(
        summary="Vote on a proposal, or declare a conflict (a committee member's own login)",
        description='`{"choice": "yes"|"no"|"abstain", "reason": "…"}` casts or changes your '
        'vote until voting closes; `{"conflict": "…"}` recuses you from this vote. Needs your own log-in '
        "(a session): an organisation's key is refused with 403. Refused with 403 `vote_refused`: a "
        "supervisor, a member recused (automatically or by declaration), a former member; 409 "
        "`voting_closed` after closing. A proposal of a committee you do not sit on is 404.",
        request=VoteInput,
        responses={200: VoteResult},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(
        detail=True,
        methods=["post"],
        key_refusal=_("Voting needs a committee member's own login: an organisation's API key cannot vote."),
    )
    @idempotent
    def votes(self, request, pk=None):
        incoming = VoteInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        proposal = self.get_object()
        if "conflict" in data:
            ballot = services.declare_conflict(proposal=proposal, note=data["conflict"], actor=self._actor())
        else:
            ballot = services.cast_vote(
                proposal=proposal, choice=data["choice"], reason=data["reason"], actor=self._actor()
            )
        proposal.refresh_from_db(fields=["status"])
        result = {
            "choice": ballot.choice,
            "reason": ballot.reason,
            "recused": ballot.recused,
            "voted_at": ballot.voted_at,
            "proposal_status": proposal.status,
        }
        return Response(VoteResult(result).data)

    @extend_schema(
        summary="Object to a proposal during its public notice (a resident's own login)",
        description="A logged-in resident of the fund's community objects once per notice, with a reason; "
        "the committee answers on the record. 409 `not_in_notice` outside the notice, 409 "
        "`already_objected` the second time; a proposal of another community is 404; an organisation's key "
        "is refused with 403.",
        request=ObjectionInput,
        responses={201: ObjectionSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(
        detail=True,
        methods=["post"],
        key_refusal=_("Objecting needs a resident's own login: an organisation's API key cannot object."),
    )
    @idempotent
    def objections(self, request, pk=None):
        incoming = ObjectionInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        objection = services.object_to(
            proposal=self.get_object(), reason=incoming.validated_data["reason"], actor=self._actor()
        )
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record a payment (a tranche) on a proposal (accepts Idempotency-Key)",
        description="Staff of the community record what the host paid; the ledger withdrawal is posted with "
        "it. Refused: 409 `wrong_status` before the notice has passed (or after the report); 400 "
        "`above_approved` above what remains approved; 400 `insufficient_funds` or `restricted` when the "
        "fund (or the purpose's money) cannot cover it; 400 `invalid_date` for a day in the future. An "
        "organisation's key is refused with 403.",
        request=DisbursementInput,
        responses={201: DisbursementSerializer},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def disbursements(self, request, pk=None):
        incoming = DisbursementInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        tranche = services.disburse(
            proposal=self.get_object(), actor=self._actor(), **incoming.validated_data
        )
        return Response(DisbursementSerializer(tranche).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Report what the money did (accepts Idempotency-Key)",
        description="After at least one payment: staff of the community, or the key of the organisation "
        "that received the money. Receipts and photos may come with it, base64-encoded (PDF, PNG or JPEG, "
        "checked by their content; pictures are re-encoded without their metadata). The report and its "
        "files are kept together or not at all. 409 `wrong_status` unless paid and unreported.",
        request=ReportInput,
        responses={201: ReportResult},
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def report(self, request, pk=None):
        incoming = ReportInput(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        proposal = self.get_object()
        actor = self._actor()
        with transaction.atomic():
            report = services.submit_report(
                proposal=proposal, outcomes=data["outcomes"], people_served=data["people_served"], actor=actor
            )
            files = []
            for i, item in enumerate(data["attachments"]):
                try:
                    files.append(
                        services.add_attachment(
                            proposal=proposal,
                            kind=item["kind"],
                            name=item["name"],
                            content=item["content_base64"],
                            content_type="",
                            is_public=item["is_public"],
                            actor=actor,
                        )
                    )
                except services.ProposalError as exc:
                    if exc.field in ("file", "is_public", "kind"):
                        exc.field = (
                            f"attachments.{i}.{'content_base64' if exc.field == 'file' else exc.field}"
                        )
                    raise
        body = {**ReportSerializer(report).data, "attachments": AttachmentSerializer(files, many=True).data}
        return Response(body, status=status.HTTP_201_CREATED)
