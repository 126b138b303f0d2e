"""Import a host's donation statement (Excel or CSV): dry run first, then all-or-nothing.

Rows are matched by receipt number: a receipt already recorded for this host is skipped, so importing
the same statement twice records nothing twice. Host statements give amounts in yuan ("1,234.56");
they are converted to fen with Decimal string arithmetic, never through a float.
"""

from __future__ import annotations

import csv
import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from charity import spreadsheets
from charity.errors import DomainError
from charity.validators import normalize_key

from . import services
from .models import MAX_AMOUNT_FEN, Donation, Fund

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
    rows: list[RowResult] = field(default_factory=list)
    applied: bool = False

    @property
    def errors(self):
        return [r for r in self.rows if r.status == "error"]

    @property
    def to_record(self):
        return [r for r in self.rows if r.status == "ok"]

    @property
    def skipped(self):
        return [r for r in self.rows if r.status == "skipped"]

    @property
    def total_fen(self):
        return sum(r.amount_fen or 0 for r in self.to_record)


def decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM) first; GBK/GB18030 is what Chinese Excel saves as CSV."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError(_("The file is neither UTF-8 nor GBK text: save it again as CSV (UTF-8) or Excel."))


def read_rows(filename: str, raw: bytes) -> list[dict]:
    """Return the rows as dicts keyed by our column names, or raise StatementError (SpreadsheetError for a
    file that cannot be read or is past settings.IMPORT_MAX_ROWS; see charity/spreadsheets.py)."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        table = spreadsheets.read_xlsx(raw)
    elif name.endswith(".csv") or name.endswith(".txt"):
        text = decode(raw)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        table = spreadsheets.read_csv(text, dialect=dialect)
    else:
        raise StatementError(_("Upload an Excel (.xlsx) or CSV (.csv) file."))
    if not table:
        raise StatementError(_("The file is empty."))
    header = [str(c or "").strip() for c in table[0]]
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
    return [
        {key: (row[i] if i < len(row) else None) for key, i in mapping.items()} | {"_line": line}
        for line, row in enumerate(table[1:], start=2)
    ]


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
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise ValueError(_("“%(v)s” has more than two decimals.") % {"v": value})
    fen = int(fen)
    if fen <= 0:
        raise ValueError(_("The amount must be more than zero."))
    if fen > MAX_AMOUNT_FEN:
        raise ValueError(_("The amount may not exceed ¥10,000,000,000."))
    return fen


def parse_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip().replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y年%m月%d日", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("“%(v)s” is not a date (use 2026-03-15).") % {"v": value})


def parse_bool(value, column) -> bool:
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(_("“%(v)s” in column %(c)s is neither yes nor no.") % {"v": value, "c": column})


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def import_statement(*, fund: Fund, filename: str, raw: bytes, actor, dry_run: bool) -> ImportReport:
    """Check every row of a statement and, unless dry_run or any row is refused, record them all.

    Every row is checked with services.check_donation, which writes nothing; only then, if none is
    refused, are they all recorded in one transaction (a refusal met there — a receipt recorded meanwhile —
    marks its row and records nothing).
    """
    rows = read_rows(filename, raw)
    report = ImportReport()
    named = {normalize_key(f.name): f for f in fund.named_funds.all()}
    seen: dict[str, int] = {}
    already = set(
        Donation.objects.filter(
            host=fund.host, receipt_no__in=[normalize_key(_cell(r.get("receipt_no"))) for r in rows]
        ).values_list("receipt_no", flat=True)
    )
    to_post: list[tuple[RowResult, dict]] = []
    for row in rows:
        # Normalised as the service stores it, so "ZW\u200b123" is found as the ZW123 already recorded.
        receipt = normalize_key(_cell(row.get("receipt_no")))
        result = RowResult(line=row["_line"], receipt_no=receipt, donor=_cell(row.get("donor_name")))
        report.rows.append(result)
        try:
            if not receipt:
                raise ValueError(_("The receipt number is missing: rows are matched by it."))
            if receipt in seen:
                raise ValueError(
                    _("Receipt %(r)s appears twice in this file (line %(l)d).")
                    % {"r": receipt, "l": seen[receipt]}
                )
            seen[receipt] = result.line
            result.amount_fen = parse_amount_fen(row.get("amount"))
            if receipt in already:
                result.status, result.message = "skipped", _("Already recorded: nothing to do.")
                continue
            channel_text = _cell(row.get("channel"))
            channel = channel_code(channel_text)
            if channel is None:
                raise ValueError(_("Unknown channel “%(c)s”.") % {"c": channel_text})
            purpose = _cell(row.get("purpose"))
            named_name = _cell(row.get("named_fund"))
            restricted_fund = None
            if named_name:
                restricted_fund = named.get(normalize_key(named_name))
                if restricted_fund is None:
                    raise ValueError(
                        _("“%(n)s” is not a named fund of %(f)s.") % {"n": named_name, "f": fund}
                    )
            donation = {
                "fund": fund,
                "amount_fen": result.amount_fen,
                "channel": channel,
                "received_on": parse_date(row.get("received_on")),
                "donor_name": result.donor,
                "anonymous": parse_bool(row.get("anonymous"), "anonymous"),
                "publish_name": parse_bool(row.get("publish_name"), "publish_name"),
                "receipt_no": receipt,
                "restriction": "named_fund"
                if restricted_fund
                else ("purpose" if purpose else "unrestricted"),
                "restricted_fund": restricted_fund,
                "purpose": purpose,
                "handled_by": actor.user,
            }
            services.check_donation(**donation)
            to_post.append((result, donation))
        except ValueError as exc:
            result.status, result.message = "error", str(exc)
        except DomainError as exc:
            result.status, result.message = "error", str(exc.message)
    if dry_run or report.errors:
        return report
    with transaction.atomic():
        for result, donation in to_post:
            try:
                services.post_donation(actor=actor, **donation)
            except DomainError as exc:
                result.status, result.message = "error", str(exc.message)
                transaction.set_rollback(True)
                return report
    report.applied = True
    return report
