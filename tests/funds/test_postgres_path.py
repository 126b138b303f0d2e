"""PostgreSQL posts a donation in one prepared statement (funds/postgres.py). It must write exactly the rows
the generic path (funds.ledger.post_lines) writes, fall back to it when an account does not exist yet, and
refuse what the generic path refuses, leaving nothing behind."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from charity.models import AuditEvent, Organization
from charity.services import Actor
from funds import donations, postgres, selectors, services
from funds.models import Account, Donation, Entry, Transaction
from tests.factories import OrganizationFactory, PersonFactory, StaffUserFactory

pytestmark = pytest.mark.postgres

DAY = datetime.date(2026, 3, 1)


def generic_only(monkeypatch):
    """Make the one-statement path decline, as it does when an account is missing: the generic path runs."""
    monkeypatch.setattr(donations, "post_donation_in_one_statement", lambda **kwargs: None)


def row(obj, *exclude):
    """Every stored column of `obj`, as the database holds it, less `exclude` (and the primary key)."""
    obj = type(obj).objects.get(pk=obj.pk)
    return {
        f.attname: getattr(obj, f.attname)
        for f in obj._meta.concrete_fields
        if not f.primary_key and f.attname not in exclude
    }


def written_by(donation):
    """Everything one donation wrote, less the ids and times that necessarily differ between two postings."""
    txn = donation.transaction
    audit = AuditEvent.objects.get(object_type="funds.donation", object_id=str(donation.pk))
    entries = Entry.objects.filter(transaction=txn).order_by("id").values_list("account_id", "amount_fen")
    audit_data = dict(audit.data)
    assert audit_data.pop("transaction_id") == txn.pk
    assert audit_data.pop("receipt_no") == donation.receipt_no
    stamps = [row(txn)["posted_at"], row(donation)["created_at"], audit.created_at]
    assert all(stamps) and max(stamps) - min(stamps) < datetime.timedelta(seconds=5)
    return {
        "transaction": row(txn, "posted_at"),
        "entries": list(entries),
        "donation": row(donation, "transaction_id", "receipt_no", "created_at"),
        "audit": row(audit, "object_id", "created_at", "data") | {"data": audit_data},
    }


def prepared_donation_runs():
    """How often each prepared donation statement on this connection has run, one number per statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH acc AS%%'"
        )
        return [row[0] for row in cursor.fetchall()]


def balances(fund_ids):
    return dict(Account.objects.filter(fund_id__in=fund_ids).values_list("id", "balance_fen"))


CASES = {
    "unrestricted money": {},
    "restricted to a purpose": {"restriction": "purpose", "purpose": "助老"},
    "restricted to a named fund": {"restriction": "named_fund"},
    "goods in kind": {
        "form": "in_kind",
        "item_description": "轮椅",
        "item_quantity": Decimal("2.50"),
        "item_unit": "台",
    },
    "from a named resident, published": {"donor": "person", "publish_name": True, "channel": "resident"},
    "from an organisation, anonymous": {"donor": "organization", "anonymous": True, "channel": "merchant"},
    "waived receipt, handled by staff": {"receipt_waived": True, "handled": True, "channel": "online"},
    "a venture philanthropy grant (no receipt)": {"channel": "venture_grant"},
    "to an endowment named fund (its principal)": {"restriction": "named_fund", "endowment": True},
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_one_statement_writes_exactly_what_the_generic_path_writes(case, fund, named_fund, monkeypatch):
    options = dict(CASES[case])
    donor = options.pop("donor", None)
    if donor == "person":
        options["donor_person"] = PersonFactory(community=fund.community)
        options["donor_name"] = options["donor_person"].name
    elif donor == "organization":
        options["donor_organization"] = OrganizationFactory(type=Organization.Type.MERCHANT)
        options["donor_name"] = options["donor_organization"].name
    staff = StaffUserFactory()
    if options.pop("handled", False):
        options["handled_by"] = staff
    if options.pop("endowment", False):
        named_fund.policy = "endowment"
        named_fund.save(update_fields=["policy"])
    if options.get("restriction") == "named_fund":
        options["restricted_fund"] = named_fund
    options.setdefault("channel", "resident")
    actor = Actor(user=staff, organization=fund.host, surface=AuditEvent.Surface.ADMIN)

    def give(receipt_no):
        no_receipt = options.get("receipt_waived") or options.get("channel") == "venture_grant"
        receipt = {} if no_receipt else {"receipt_no": receipt_no}
        return services.post_donation(
            fund=fund, amount_fen=12_345, actor=actor, received_on=DAY, **receipt, **options
        )

    give("FIRST")  # creates the accounts this kind of donation needs (the one-statement path needs them)
    before = balances([fund.pk, named_fund.pk])
    with CaptureQueriesContext(connection) as fast_queries:
        fast = give("FAST")
    after_fast = balances([fund.pk, named_fund.pk])
    generic_only(monkeypatch)
    with CaptureQueriesContext(connection) as generic_queries:
        generic = give("GENERIC")
    after_generic = balances([fund.pk, named_fund.pk])

    statements = [q["sql"] for q in fast_queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("WITH acc AS")
    assert not any(q["sql"].startswith("WITH acc AS") for q in generic_queries.captured_queries)
    assert written_by(fast) == written_by(generic)
    moved_fast = {pk: after_fast[pk] - before[pk] for pk in before}
    moved_generic = {pk: after_generic[pk] - after_fast[pk] for pk in before}
    assert moved_fast == moved_generic and sum(moved_fast.values()) == 0
    assert fast.pk and fast.transaction.pk and fast.transaction_id == fast.transaction.pk
    assert written_by(fast)["donation"]["host_id"] == fund.host_id
    assert selectors.verify_ledger().ok


@pytest.mark.django_db
def test_a_fund_without_accounts_falls_back_and_nothing_is_written_twice(fund, give):
    assert not Account.objects.filter(fund=fund).exists()
    first = give(fund, 1_000)
    assert Donation.objects.count() == 1 and Transaction.objects.count() == 1
    assert Entry.objects.count() == 2 and AuditEvent.objects.filter(action="donation.posted").count() == 1
    # A purpose seen for the first time needs its restricted account: the fallback creates it.
    give(fund, 2_000, restriction="purpose", purpose="助学")
    give(fund, 3_000, restriction="purpose", purpose="助学")
    assert Donation.objects.count() == 3 and Entry.objects.count() == 6
    assert selectors.fund_balance(fund).balance_fen == 6_000
    assert first.transaction.entries.count() == 2
    assert selectors.verify_ledger().ok


@pytest.mark.django_db
def test_a_duplicate_receipt_is_refused_and_leaves_the_callers_transaction_usable(fund, give):
    give(fund, 1_000, receipt_no="R-1")
    counts = [m.objects.count() for m in (Donation, Transaction, Entry, AuditEvent)]
    with transaction.atomic():
        with pytest.raises(services.DuplicateReceipt):
            give(fund, 2_000, receipt_no="R-1")
        give(fund, 3_000, receipt_no="R-2")  # the savepoint kept the outer transaction alive
    models = (Donation, Transaction, Entry, AuditEvent)
    added = [m.objects.count() - n for m, n in zip(models, counts, strict=True)]
    assert added == [1, 1, 2, 1]
    assert selectors.fund_balance(fund).balance_fen == 4_000


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_donation_is_one_prepared_statement(fund, give):
    give(fund, 1_000)
    with CaptureQueriesContext(connection) as queries:
        for n in range(6):
            give(fund, 1_000 + n)
    assert len(queries.captured_queries) == 6  # no BEGIN, no COMMIT: the statement is its own transaction
    with pytest.raises(services.DuplicateReceipt):  # and a refusal in autocommit leaves nothing behind
        give(fund, 5, receipt_no=Donation.objects.latest("id").receipt_no)
    assert sum(prepared_donation_runs()) >= 6
    assert Donation.objects.count() == 7
    assert selectors.fund_balance(fund).balance_fen == 7_015
    assert selectors.verify_ledger().ok


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_declines_holds_no_lock(fund, give):
    """The first donation to a new purpose: the restricted account is missing, the statement writes nothing
    and must not keep the donors account locked while the fallback creates the account (a concurrent first
    donation to the same purpose would deadlock with it)."""
    give(fund, 1_000)  # the standard accounts exist; no restricted account yet
    donors = Account.objects.get(fund=fund, kind=Account.Kind.DONORS)
    seen = {}

    def try_lock():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT id FROM funds_account WHERE id = %s FOR UPDATE NOWAIT", [donors.pk])
            seen["locked"] = False
        except OperationalError:
            seen["locked"] = True
        finally:
            connection.close()

    with transaction.atomic():
        declined = postgres.post_donation_in_one_statement(
            donation=Donation(
                fund=fund,
                host_id=fund.host_id,
                amount_fen=5,
                channel="resident",
                receipt_no="NEW",
                received_on=DAY,
                restriction="purpose",
                purpose="新用途",
            ),
            txn=Transaction(kind="donation", fund_id=fund.pk),
            held=(fund.pk, Account.Kind.RESTRICTED, "新用途"),
            counterpart=(fund.pk, Account.Kind.DONORS),
            audit=AuditEvent(surface="system", action="donation.posted", data={}),
        )
        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join(timeout=30)
    assert declined is None and seen == {"locked": False}
    assert Donation.objects.count() == 1 and Entry.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_statement_is_prepared_once_whatever_the_amounts_and_survives_a_refusal(fund, give):
    give(fund, 1_000)
    for amount in (5, 50_000, 5_000_000_000):  # int2, int4 and int8 values: one statement
        give(fund, amount)
    with transaction.atomic():  # a refusal rolls back to a savepoint: the statement stays prepared
        with pytest.raises(services.DuplicateReceipt):
            give(fund, 7, receipt_no=Donation.objects.latest("id").receipt_no)
        give(fund, 8)
    # one statement, run six times: the first (declined: no accounts yet), three amounts, the refusal, 8
    assert prepared_donation_runs() == [6]
