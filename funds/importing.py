"""Import a host's donation statement (Excel or CSV): dry run first, then all-or-nothing.

Rows are matched by receipt number: a receipt already recorded for this host is skipped, so importing
the same statement twice records nothing twice. Host statements give amounts in yuan ("1,234.56");
they are converted to fen with Decimal string arithmetic, never through a float.

A statement may hold `settings.IMPORT_MAX_ROWS` rows (100,000 by default), so nothing here holds the whole
file as rows: the file is read as a stream (charity/spreadsheets.py), checked BATCH_ROWS rows at a time,
and, when applied, written BATCH_ROWS donations at a time, each table in one COPY on PostgreSQL (the same
rows post_donation writes, one audit event per donation), all in one database transaction whose last act
moves the account balances (so the fund's accounts are locked only for that update and the commit). On
PostgreSQL the writing runs in a second thread while the next batch is checked. The report counts every
row but lists only some (ImportReport). The admin runs an import as a Celery task (start_import_job,
run_import_job). docs/performance.md, "Statement import", has the figures and the reasons.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import queue
import secrets
import threading
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import islice

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from charity import public_pages, spreadsheets
from charity.db import insert_values
from charity.errors import DomainError
from charity.models import AuditAction, AuditEvent
from charity.services import Actor
from charity.validators import normalize_key

from . import services
from .ledger import (
    STANDARD_KINDS,
    area,
    get_or_create_account,
    get_or_create_accounts,
    post_lines_in_bulk,
    settle_balances,
)
from .models import MAX_AMOUNT_FEN, Account, Donation, Fund

# Rows checked, and written, together: one query for their receipt numbers, a few INSERTs for their rows.
BATCH_ROWS = 1000
# What a report lists: the first LISTED_ROWS rows, and every refused row up to LISTED_ERRORS in all.
LISTED_ROWS = 100
LISTED_ERRORS = 1000

# Accepted headers, Chinese as the hosts' exports write them, or the API's English names.
COLUMNS = {
    "receipt_no": ["receipt_no", "票据号", "收据号", "捐赠票据号", "票据编号"],
    "received_on": ["received_on", "日期", "捐赠日期", "到账日期"],
    "donor_name": ["donor_name", "捐赠人", "捐赠方", "捐赠者"],
    "amount": ["amount", "amount_yuan", "金额", "捐赠金额", "金额（元）", "金额(元)"],
    "channel": ["channel", "渠道", "捐赠渠道"],
    "anonymous": ["anonymous", "匿名"],
    "publish_name": ["publish_name", "同意公开", "公开姓名"],
    "purpose": ["purpose", "定向用途", "用途"],
    "named_fund": ["named_fund", "冠名基金"],
}
REQUIRED = ["receipt_no", "received_on", "amount", "channel"]

# Words hosts' statements use for a channel, besides our codes and the labels in either language.
CHANNEL_WORDS = {
    "居民": "resident",
    "商户": "merchant",
    "爱心商户": "merchant",
    "公益市集": "charity_market",
    "商业回馈": "business_giveback",
    "商业+公益": "business_giveback",
    "线上募捐": "online",
    "网络募捐": "online",
    "外部捐赠": "outside_donor",
    "外部捐赠人": "outside_donor",
    "政府": "government",
    "其他": "other",
}


@lru_cache(maxsize=256)  # a statement names a handful of channels, 100,000 times
def channel_code(text: str) -> str | None:
    """The channel a statement's cell names, or None. Labels are compared as text in both languages
    (never as lazy strings used as dict keys, whose meaning would change with the active language)."""
    if text in Donation.Channel.values:
        return text
    if text in CHANNEL_WORDS:
        return CHANNEL_WORDS[text]
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for code, label in Donation.Channel.choices:
                if str(label).lower() == text.lower():
                    return code
    return None


TRUE_WORDS = {"1", "true", "yes", "y", "是", "√", "✓", "同意"}
FALSE_WORDS = {"", "0", "false", "no", "n", "否", "不同意"}


class StatementError(DomainError):
    code = "invalid_statement"


@dataclass
class RowResult:
    line: int
    receipt_no: str
    amount_fen: int | None = None
    donor: str = ""
    status: str = "ok"  # ok | skipped | error
    message: str = ""


@dataclass
class ImportReport:
    """Every row counted, some listed: a report of 100,000 rows must not hold 100,000 rows.

    `rows` lists, in file order, the first LISTED_ROWS rows and every refused row up to LISTED_ERRORS in
    all; `counts` and `total_fen` cover every row. For a statement of up to LISTED_ROWS rows every row is
    listed (`listed_all`).
    """

    rows: list[RowResult] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "skipped": 0, "error": 0})
    total_fen: int = 0  # of the rows to record
    applied: bool = False
    _listed_errors: int = 0

    def add(self, result: RowResult) -> None:
        self.counts[result.status] += 1
        if result.status == "ok":
            self.total_fen += result.amount_fen or 0
        if self.row_count <= LISTED_ROWS or (
            result.status == "error" and self._listed_errors < LISTED_ERRORS
        ):
            self.rows.append(result)
            self._listed_errors += result.status == "error"

    def refuse(self, result: RowResult, message: str) -> None:
        """Refuse a row already added (its receipt was recorded meanwhile)."""
        if result.status == "ok":
            self.total_fen -= result.amount_fen or 0
        self.counts[result.status] -= 1
        self.counts["error"] += 1
        result.status, result.message = "error", message
        if result not in self.rows and self._listed_errors < LISTED_ERRORS:
            self.rows.append(result)
            self.rows.sort(key=lambda r: r.line)
        self._listed_errors += result in self.rows

    @property
    def row_count(self) -> int:
        return sum(self.counts.values())

    @property
    def record_count(self) -> int:
        return self.counts["ok"]

    @property
    def skipped_count(self) -> int:
        return self.counts["skipped"]

    @property
    def error_count(self) -> int:
        return self.counts["error"]

    @property
    def listed_all(self) -> bool:
        return len(self.rows) == self.row_count

    @property
    def errors(self) -> list[RowResult]:
        """The refused rows listed (all of them, up to LISTED_ERRORS)."""
        return [r for r in self.rows if r.status == "error"]

    @property
    def to_record(self) -> list[RowResult]:
        """The rows to record that are listed (record_count counts them all)."""
        return [r for r in self.rows if r.status == "ok"]

    @property
    def skipped(self) -> list[RowResult]:
        """The rows already recorded that are listed (skipped_count counts them all)."""
        return [r for r in self.rows if r.status == "skipped"]


# --- reading ------------------------------------------------------------------------------------------------

_DECODE_CHUNK = 1 << 16


def encoding_of(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first; GBK/GB18030 is what Chinese Excel saves as CSV. The whole file is
    checked, 64 KB at a time, so a wrong guess is never found half-way through the import."""
    view = memoryview(raw)
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(view), _DECODE_CHUNK):
                decoder.decode(view[start : start + _DECODE_CHUNK])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise StatementError(_("The file is neither UTF-8 nor GBK text: save it again as CSV (UTF-8) or Excel."))


def _csv_rows(raw: bytes) -> Iterator[tuple[int, list[str]]]:
    text = io.TextIOWrapper(io.BytesIO(raw), encoding=encoding_of(raw), newline="")
    sample = text.read(4096)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # Splitting CSV into rows is cheap (a tenth of a second for 100,000 rows): count them first, so that a
    # file past the row limit, or one that cannot be split, is refused at once rather than after its rows
    # are checked.
    text.seek(0)
    for _row in spreadsheets.iter_csv(text, dialect=dialect):
        pass
    text.seek(0)
    return spreadsheets.iter_csv(text, dialect=dialect)


def read_rows(filename: str, raw: bytes) -> Iterator[tuple[int, dict]]:
    """Yield (line, row) for every data row, keyed by our column names; raise StatementError for a file of
    the wrong kind, without a header or without a required column, before the first row. While the rows
    are read: SpreadsheetError for a file that cannot be read, SpreadsheetTooLarge at the row past
    settings.IMPORT_MAX_ROWS (charity/spreadsheets.py). Close it (contextlib.closing) if not read to the end.
    """
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        table = spreadsheets.iter_xlsx(raw)
    elif name.endswith(".csv") or name.endswith(".txt"):
        table = _csv_rows(raw)
    else:
        raise StatementError(_("Upload an Excel (.xlsx) or CSV (.csv) file."))
    with closing(table):
        first = next(table, None)
        if first is None:
            raise StatementError(_("The file is empty."))
        header = [str(c or "").strip() for c in first[1]]
        mapping = {}
        for key, names in COLUMNS.items():
            for i, h in enumerate(header):
                if h in names or h.lower() in names:
                    mapping[key] = i
                    break
        missing = [
            f"{next(n for n in COLUMNS[k] if not n.isascii())} ({k})" for k in REQUIRED if k not in mapping
        ]
        if missing:
            raise StatementError(
                _("Missing columns: %(cols)s. The first row must name the columns.")
                % {"cols": "、".join(missing)}
            )
        columns = list(mapping.items())
        for line, row in table:
            width = len(row)
            yield line, {key: (row[i] if i < width else None) for key, i in columns}


def parse_amount_fen(value) -> int:
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        raise ValueError(_("The amount is missing."))
    text = (
        str(value)
        .strip()
        .replace(",", "")
        .replace("，", "")
        .replace("¥", "")
        .replace("￥", "")
        .replace("元", "")
    )
    try:
        yuan = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("“%(v)s” is not an amount in yuan.") % {"v": value})
    if not yuan.is_finite():
        raise ValueError(_("“%(v)s” is not an amount in yuan.") % {"v": value})
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise ValueError(_("“%(v)s” has more than two decimals.") % {"v": value})
    fen = int(fen)
    if fen <= 0:
        raise ValueError(_("The amount must be more than zero."))
    if fen > MAX_AMOUNT_FEN:
        raise ValueError(_("The amount may not exceed ¥10,000,000,000."))
    return fen


@lru_cache(maxsize=1024)  # a statement's dates repeat: its days, 100,000 times
def _date_from_text(text: str) -> datetime.date:
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return datetime.date.fromisoformat(text)  # the common case, ten times quicker than strptime
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d", "%Y年%m月%d日", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return _date_from_text(str(value or "").strip().replace("/", "-").replace(".", "-"))
    except ValueError:
        raise ValueError(_("“%(v)s” is not a date (use 2026-03-15).") % {"v": value})


def parse_bool(value, column) -> bool:
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(_("“%(v)s” in column %(c)s is neither yes nor no.") % {"v": value, "c": column})


def _receipt_key(text: str) -> str:
    """normalize_key(text), quicker for the usual receipt number: printable ASCII is already NFKC and holds
    no invisible character, so only its runs of spaces are made one and its ends trimmed."""
    if text.isascii() and text.isprintable():
        return " ".join(text.split())
    return normalize_key(text)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- checking -----------------------------------------------------------------------------------------------


class _ReceiptIndex:
    """The first line of each receipt number of a file, in 16 bytes a slot rather than a dict's ~150.

    The one thing an import keeps for every row (to refuse a receipt's second row), so it is what keeps
    memory from being flat in the number of rows: about 3 MB for 100,000 rows. An open-addressing table in
    arrays keyed by two independent hashes of the receipt (Python's 64-bit hash and CRC-32): two different
    receipts are mistaken for one with odds of about 10^-19 for a 100,000-row file.
    """

    def __init__(self, slots: int = 1024):
        self._keys = array("q", [0]) * slots  # 0: empty
        self._checks = array("I", [0]) * slots
        self._lines = array("I", [0]) * slots
        self._used = 0

    def add(self, receipt: str, line: int) -> int | None:
        """Remember `receipt` at `line`; if it was seen before, return that first line instead."""
        key = hash(receipt) or 1
        check = zlib.crc32(receipt.encode())
        keys, mask = self._keys, len(self._keys) - 1
        slot = key & mask
        while keys[slot]:
            if keys[slot] == key and self._checks[slot] == check:
                return self._lines[slot]
            slot = (slot + 1) & mask
        keys[slot], self._checks[slot], self._lines[slot] = key, check, line
        self._used += 1
        if 3 * self._used > 2 * len(keys):
            self._grow()
        return None

    def _grow(self) -> None:
        old = zip(self._keys, self._checks, self._lines, strict=True)
        self.__init__(2 * len(self._keys))
        for key, check, line in old:
            if key:
                slot = key & (len(self._keys) - 1)
                while self._keys[slot]:
                    slot = (slot + 1) & (len(self._keys) - 1)
                self._keys[slot], self._checks[slot], self._lines[slot] = key, check, line
                self._used += 1


class _Checker:
    """Checks rows batch by batch as post_donation would record them, remembering the file's receipts."""

    def __init__(self, fund: Fund, actor):
        self.fund, self.actor = fund, actor
        self.named = {normalize_key(f.name): f for f in fund.named_funds.all()}
        # Receipt → line of every row checked so far: a receipt seen twice is refused on its second row.
        self.seen = _ReceiptIndex()
        # SQLite caps the parameters of one statement; the host is one of them.
        self.lookup_size = min(BATCH_ROWS, (connection.features.max_query_params or BATCH_ROWS + 1) - 1)

    def recorded(self, receipts: list[str]) -> set[str]:
        """Which of `receipts` the host has already recorded."""
        wanted = sorted({r for r in receipts if r})
        found: set[str] = set()
        for start in range(0, len(wanted), self.lookup_size):
            found.update(
                Donation.objects.filter(
                    host_id=self.fund.host_id, receipt_no__in=wanted[start : start + self.lookup_size]
                )
                # Said again, so that PostgreSQL may use the unique index on (host, receipt_no), which holds
                # only rows with a receipt number (it cannot prove that for a list of many numbers).
                .exclude(receipt_no="")
                .order_by()
                .values_list("receipt_no", flat=True)
            )
        return found

    def check(self, batch: list[tuple[int, dict]]) -> list[tuple[RowResult, services.DonationPlan | None]]:
        # Normalised as the service stores it, so "ZW\u200b123" is found as the ZW123 already recorded.
        receipts = [_receipt_key(_cell(row.get("receipt_no"))) for _line, row in batch]
        already = self.recorded(receipts)
        return [
            self._check_row(line, row, receipt, already)
            for (line, row), receipt in zip(batch, receipts, strict=True)
        ]

    def _check_row(self, line: int, row: dict, receipt: str, already: set[str]):
        result = RowResult(line=line, receipt_no=receipt, donor=_cell(row.get("donor_name")))
        try:
            if not receipt:
                raise ValueError(_("The receipt number is missing: rows are matched by it."))
            first = self.seen.add(receipt, line)
            if first is not None:
                raise ValueError(
                    _("Receipt %(r)s appears twice in this file (line %(l)d).") % {"r": receipt, "l": first}
                )
            result.amount_fen = parse_amount_fen(row.get("amount"))
            if receipt in already:
                result.status, result.message = "skipped", _("Already recorded: nothing to do.")
                return result, None
            channel_text = _cell(row.get("channel"))
            channel = channel_code(channel_text)
            if channel is None:
                raise ValueError(_("Unknown channel “%(c)s”.") % {"c": channel_text})
            purpose = _cell(row.get("purpose"))
            named_name = _cell(row.get("named_fund"))
            restricted_fund = None
            if named_name:
                restricted_fund = self.named.get(normalize_key(named_name))
                if restricted_fund is None:
                    raise ValueError(
                        _("“%(n)s” is not a named fund of %(f)s.") % {"n": named_name, "f": self.fund}
                    )
            plan = services.check_donation(
                fund=self.fund,
                amount_fen=result.amount_fen,
                channel=channel,
                received_on=parse_date(row.get("received_on")),
                donor_name=result.donor,
                anonymous=parse_bool(row.get("anonymous"), "anonymous"),
                publish_name=parse_bool(row.get("publish_name"), "publish_name"),
                receipt_no=receipt,
                restriction="named_fund" if restricted_fund else ("purpose" if purpose else "unrestricted"),
                restricted_fund=restricted_fund,
                purpose=purpose,
                handled_by=self.actor.user,
            )
        except ValueError as exc:
            result.status, result.message = "error", str(exc)
        except DomainError as exc:
            result.status, result.message = "error", str(exc.message)
        else:
            return result, plan
        return result, None


# --- writing ------------------------------------------------------------------------------------------------


def _pk(obj) -> int | None:
    return None if obj is None else obj.pk


def _donation_row(plan: services.DonationPlan, actor, txn_id: int, now) -> dict:
    """The donation row DonationPlan.donation() builds and post_donation stores, as {attname: value}."""
    return {
        "fund_id": plan.fund.pk,
        "host_id": plan.fund.host_id,
        "form": plan.form,
        "amount_fen": plan.amount_fen,
        "channel": plan.channel,
        "donor_person_id": _pk(plan.donor_person),
        "donor_organization_id": _pk(plan.donor_organization),
        "donor_name": plan.donor_name,
        "anonymous": plan.anonymous,
        "publish_name": plan.publish_name,
        "receipt_no": plan.receipt_no,
        "receipt_waived": plan.receipt_waived,
        "received_on": plan.received_on,
        "handled_by_id": _pk(plan.handled_by),
        "recorded_by_organization_id": _pk(actor.organization),
        "restriction": plan.restriction,
        "restricted_fund_id": _pk(plan.restricted_fund),
        "purpose": plan.purpose,
        "item_description": plan.item_description,
        "item_quantity": plan.item_quantity,
        "item_unit": plan.item_unit,
        "transaction_id": txn_id,
        "refund_transaction_id": None,
        "refund_reason": "",
        "created_at": now,
    }


def _audit_row(plan: services.DonationPlan, actor, where, donation_id: int, txn_id: int, now) -> dict:
    """The audit event post_donation records for the donation (charity.services.audit_event's fields)."""
    return {
        "created_at": now,
        "actor_user_id": actor.user_id,
        "actor_organization_id": _pk(actor.organization),
        "surface": actor.surface,
        "action": AuditAction.DONATION_POSTED,
        "object_type": Donation._meta.label_lower,
        "object_id": str(donation_id),
        "area_id": _pk(where),
        "summary": f"{plan.fund.name}: {plan.amount_fen} fen ({plan.channel})"[:300],
        "data": {
            "amount_fen": plan.amount_fen,
            "fund_id": plan.fund.pk,
            "form": plan.form,
            "restriction": plan.restriction,
            "receipt_no": plan.receipt_no,
            "transaction_id": txn_id,
        },
    }


class _Writer:
    """Writes checked donations batch by batch, as post_donation writes each, and settles the balances once.

    Per donation, the rows of funds/donations.py's `_write`: a transaction of the fund (the lines: the held
    account credited, then its counterpart debited, on the target fund's accounts, created as it creates
    them), the donation row pointing at it, and its audit event "donation.posted" with the same summary and
    data. tests/test_import_speed.py compares them with post_donation's, field by field.
    """

    def __init__(self, fund: Fund, actor):
        self.fund, self.actor = fund, actor
        self.area = area(fund)
        self.accounts: dict[tuple[int, str, str], Account] = {}
        self.deltas: dict[int, int] = {}
        self.written = 0

    def account(self, fund: Fund, kind: str, purpose: str = "") -> Account:
        if (fund.pk, kind, purpose) not in self.accounts:
            for standard_kind, standard in get_or_create_accounts(fund).items():
                self.accounts[(fund.pk, standard_kind, "")] = standard
            if kind not in STANDARD_KINDS or purpose:
                # restricted to a purpose, or an endowment's principal: created on demand
                self.accounts[(fund.pk, kind, purpose)] = get_or_create_account(fund, kind, purpose)
        return self.accounts[(fund.pk, kind, purpose)]

    def write(self, checked: list[tuple[RowResult, services.DonationPlan | None]]) -> list[RowResult]:
        """Write the batch's donations and return []; or, if a receipt was recorded meanwhile (by another
        import or the API), write nothing of the batch and return the rows that receipt refuses."""
        todo = [(result, plan) for result, plan in checked if plan is not None and result.status == "ok"]
        if not todo:
            return []
        postings = []
        for _result, plan in todo:
            held_purpose = plan.purpose if plan.held_kind == Account.Kind.RESTRICTED else ""
            held = self.account(plan.target, plan.held_kind, held_purpose)
            counterpart = self.account(plan.target, plan.counter_kind)
            lines = [(held, plan.amount_fen), (counterpart, -plan.amount_fen)]
            postings.append((plan.fund, plan.transaction_kind, lines, plan.memo))
        deltas: dict[int, int] = {}
        now = timezone.now()  # created_at, as auto_now_add sets it
        actor = self.actor
        try:
            with transaction.atomic():  # a savepoint: after a refusal the rows already written stay usable
                txn_ids = post_lines_in_bulk(postings=postings, actor=actor, deltas=deltas)
                plans = [plan for _result, plan in todo]
                donation_ids = insert_values(
                    Donation,
                    [
                        _donation_row(plan, actor, txn_id, now)
                        for plan, txn_id in zip(plans, txn_ids, strict=True)
                    ],
                )
                insert_values(
                    AuditEvent,
                    returning=False,
                    rows=[
                        _audit_row(plan, actor, self.area, donation_id, txn_id, now)
                        for plan, donation_id, txn_id in zip(plans, donation_ids, txn_ids, strict=True)
                    ],
                )
        except IntegrityError:
            # Another import or the API recorded one of these receipts after this batch was checked: the
            # unique constraint (host, receipt_no) decides, as for post_donation.
            taken = set(
                Donation.objects.filter(
                    host_id=self.fund.host_id, receipt_no__in=[plan.receipt_no for _result, plan in todo]
                ).values_list("receipt_no", flat=True)
            )
            refused = [result for result, plan in todo if plan.receipt_no in taken]
            if not refused:
                raise
            return refused
        for pk, amount in deltas.items():
            self.deltas[pk] = self.deltas.get(pk, 0) + amount
        self.written += len(todo)
        return []

    def settle(self) -> None:
        """Move the balances by everything written (a lock held for one UPDATE and the commit)."""
        settle_balances(self.deltas)
        if self.written:
            # What record_audit does for each event it writes; the import's events all have the same action
            # and area, so one is enough to throw away the pages they change.
            public_pages.audit_recorded(AuditEvent(action=AuditAction.DONATION_POSTED, area=self.area))


def _batches(rows: Iterator[tuple[int, dict]]) -> Iterator[list[tuple[int, dict]]]:
    while batch := list(islice(rows, BATCH_ROWS)):
        yield batch


def _refuse_recorded(report: ImportReport, refused: list[RowResult]) -> None:
    message = str(services.DuplicateReceipt().message)
    for result in refused:
        report.refuse(result, message)


def _apply(batches: Iterator[list[tuple[int, dict]]], checker: _Checker, report: ImportReport) -> bool:
    """Check and write batch after batch in this thread, in one transaction; return whether it committed."""
    with transaction.atomic():
        writer = _Writer(checker.fund, checker.actor)
        for batch in batches:
            checked = checker.check(batch)
            for result, _plan in checked:
                report.add(result)
            if not report.error_count:
                _refuse_recorded(report, writer.write(checked))
        if report.error_count:
            transaction.set_rollback(True)
            return False
        writer.settle()
    return True


@dataclass
class _End:
    commit: bool


def _write_from_queue(fund: Fund, actor, batches: queue.Queue, outcome: dict) -> None:
    """The writer thread of _apply_in_parallel: its own database connection and transaction."""
    ended = False
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Check the foreign keys at each batch's COPY, while the reader checks the next batch,
                # rather than all together at the commit, when there is nothing left to do at the same time.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            writer = _Writer(fund, actor)
            refused: list[RowResult] = []
            while not isinstance(item := batches.get(), _End):
                if not refused:
                    refused = writer.write(item)
            ended = True
            if refused or not item.commit:
                transaction.set_rollback(True)
            else:
                writer.settle()
            outcome["refused"] = refused
            outcome["committed"] = not refused and item.commit
    except BaseException as exc:  # handed to the reader, which raises it
        outcome["error"] = exc
        while not ended and not isinstance(batches.get(), _End):
            pass  # the reader must never wait on a full queue
    finally:
        connection.close()


def _apply_in_parallel(
    batches: Iterator[list[tuple[int, dict]]], checker: _Checker, report: ImportReport
) -> bool:
    """As _apply, but the writing runs in a second thread on a connection of its own: PostgreSQL inserts
    and checks one batch while this thread reads and checks the next (two cores instead of one; the
    database's share of an import is about half). Only outside a transaction: the writer's transaction is
    not the caller's. Return whether it committed."""
    to_write: queue.Queue = queue.Queue(maxsize=2)  # at most a few batches in memory
    outcome: dict = {}
    thread = threading.Thread(
        target=_write_from_queue, args=(checker.fund, checker.actor, to_write, outcome), daemon=True
    )
    thread.start()
    commit = False
    try:
        for batch in batches:
            checked = checker.check(batch)
            for result, _plan in checked:
                report.add(result)
            if "error" in outcome:
                break
            if not report.error_count:
                to_write.put(checked)
        commit = not report.error_count
    finally:
        to_write.put(_End(commit=commit))
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    _refuse_recorded(report, outcome["refused"])
    return outcome["committed"]


def import_statement(
    *,
    fund: Fund,
    filename: str,
    raw: bytes,
    actor,
    dry_run: bool,
    progress: Callable[[ImportReport], object] | None = None,
) -> ImportReport:
    """Check every row of a statement and, unless dry_run or any row is refused, record them all.

    Every row is checked with services.check_donation, which writes nothing. Applying checks and writes
    batch by batch in one database transaction; a refused row (also a receipt recorded meanwhile) stops
    the writing, the rest is still checked so that every refused row is listed, and then nothing is
    recorded. `progress(report)` is called after each batch is checked. Raises StatementError /
    SpreadsheetError for a file that cannot be read as a statement (nothing is recorded either).
    """
    report = ImportReport()
    checker = _Checker(fund, actor)
    with closing(read_rows(filename, raw)) as rows:
        batches = _reported(_batches(rows), report, progress)
        if dry_run:
            for batch in batches:
                for result, _plan in checker.check(batch):
                    report.add(result)
        elif connection.vendor == "postgresql" and not connection.in_atomic_block:
            report.applied = _apply_in_parallel(batches, checker, report)
        else:
            report.applied = _apply(batches, checker, report)
    return report


def _reported(batches, report: ImportReport, progress) -> Iterator[list[tuple[int, dict]]]:
    """The batches, calling progress(report) before each but the first (when the one before is counted)."""
    for i, batch in enumerate(batches):
        if i and progress is not None:
            progress(report)
        yield batch


# --- an import as a background job ----------------------------------------------------------------------

# How long a job's file and its report are kept in the cache (shared by the web and Celery processes).
JOB_SECONDS = 30 * 60


def _job_key(job: str) -> str:
    return f"statement-import:{job}"


def start_import_job(*, fund: Fund, filename: str, raw: bytes, user, dry_run: bool) -> str:
    """Keep a statement in the cache for funds.tasks.import_statement to import; return the job's id.

    The caller queues the task (the admin, after checking that `user` may import into `fund`). The file
    waits in the cache, never on disk (as an admin import's file: charity/spreadsheets.py), and is deleted
    when the job has run; the job's state and report stay JOB_SECONDS for its page.
    """
    job = secrets.token_urlsafe(18)
    cache.set(_job_key(job) + ":file", raw, JOB_SECONDS)
    state = {
        "fund": fund.pk,
        "user": user.pk,
        "filename": filename,
        "dry_run": dry_run,
        "language": translation.get_language(),
        "state": "queued",
        "rows": 0,
    }
    cache.set(_job_key(job), state, JOB_SECONDS)
    return job


def import_job(job: str) -> dict | None:
    """The state of a job: state (queued, running, done, failed), rows checked, report or error."""
    return cache.get(_job_key(job)) if isinstance(job, str) else None


def run_import_job(job: str) -> None:
    """Run a job of start_import_job, in the language it was started in. Run again, it does nothing again:
    a job that is done or failed is left as it is (a job cut short is run again, from its file, and its
    receipts already recorded are skipped)."""
    from django.contrib.auth import get_user_model

    state = import_job(job)
    if state is None or state["state"] in ("done", "failed"):
        return
    key = _job_key(job)

    def finish(**outcome) -> None:
        cache.set(key, state | outcome, JOB_SECONDS)

    with translation.override(state["language"]):
        try:
            raw = cache.get(key + ":file")
            if raw is None:
                expired = _("The uploaded file was kept for %(m)d minutes and has expired: upload it again.")
                raise StatementError(expired % {"m": JOB_SECONDS // 60})
            fund = Fund.objects.select_related("community", "host").get(pk=state["fund"])
            user = get_user_model().objects.get(pk=state["user"])
            state["state"] = "running"
            cache.set(key, state, JOB_SECONDS)
            report = import_statement(
                fund=fund,
                filename=state["filename"],
                raw=raw,
                actor=Actor(user=user, surface=AuditEvent.Surface.ADMIN),
                dry_run=state["dry_run"],
                progress=lambda report: cache.set(key, state | {"rows": report.row_count}, JOB_SECONDS),
            )
        except DomainError as exc:
            finish(state="failed", error=str(exc.message))
        except Exception:
            finish(
                state="failed",
                error=str(_("The import stopped on an error: nothing was recorded. Try again.")),
            )
            raise
        else:
            finish(state="done", rows=report.row_count, report=report)
        finally:
            cache.delete(key + ":file")
