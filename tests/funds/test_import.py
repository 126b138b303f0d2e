import io

import pytest
from openpyxl import Workbook

from charity.errors import DomainError
from funds.importing import import_statement
from funds.models import Donation, Entry, Transaction

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

HEADER = "票据号,日期,捐赠人,金额,渠道,同意公开,定向用途,冠名基金\n"
GOOD = HEADER + (
    'JQ-001,2026-03-01,张建国,"1,200.50",居民,是,,\n'
    "JQ-002,2026/03/02,官北沟爱心超市,300,商户,否,独居老人助餐,\n"
    "JQ-003,2026-03-03,马文斌,5000,outside_donor,是,,马氏助学冠名基金\n"
)


def run(fund, actor, text, *, dry_run, encoding="utf-8", filename="statement.csv"):
    return import_statement(
        fund=fund, filename=filename, raw=text.encode(encoding), actor=actor, dry_run=dry_run
    )


def test_dry_run_shows_what_would_be_recorded_and_records_nothing(fund, named_fund, actor):
    report = run(fund, actor, GOOD, dry_run=True)
    assert [r.status for r in report.rows] == ["ok", "ok", "ok"]
    assert report.total_fen == 120050 + 30000 + 500000
    assert not report.applied
    assert Donation.objects.count() == 0 and Transaction.objects.count() == 0


def test_applying_records_every_row_with_restrictions(fund, named_fund, actor):
    report = run(fund, actor, GOOD, dry_run=False)
    assert report.applied
    assert Donation.objects.count() == 3
    market = Donation.objects.get(receipt_no="JQ-002")
    assert market.channel == "merchant" and market.restriction == "purpose" and not market.publish_name
    assert Donation.objects.get(receipt_no="JQ-003").restricted_fund == named_fund


def test_reimporting_the_same_statement_records_nothing_twice(fund, named_fund, actor):
    run(fund, actor, GOOD, dry_run=False)
    report = run(fund, actor, GOOD, dry_run=False)
    assert [r.status for r in report.rows] == ["skipped"] * 3
    assert Donation.objects.count() == 3 and Transaction.objects.count() == 3


def test_one_bad_row_means_nothing_is_recorded(fund, named_fund, actor):
    text = GOOD + "JQ-004,2026-03-04,李桂兰,-5,居民,是,,\n"
    report = run(fund, actor, text, dry_run=False)
    assert not report.applied
    assert [r.status for r in report.rows] == ["ok", "ok", "ok", "error"]
    assert "more than zero" in report.rows[3].message
    assert Donation.objects.count() == 0 and Entry.objects.count() == 0


def test_duplicated_rows_in_one_file_are_refused(fund, actor):
    text = HEADER + "JQ-001,2026-03-01,张建国,100,居民,是,,\nJQ-001,2026-03-01,张建国,100,居民,是,,\n"
    report = run(fund, actor, text, dry_run=True)
    assert report.rows[1].status == "error" and "twice" in report.rows[1].message


@pytest.mark.parametrize(
    ("cell", "words"), [("1.234", "two decimals"), ("abc", "not an amount"), ("", "missing")]
)
def test_bad_amount_cells_are_explained(fund, actor, cell, words):
    report = run(fund, actor, HEADER + f"JQ-1,2026-03-01,张,{cell},居民,是,,\n", dry_run=True)
    assert report.rows[0].status == "error" and words in report.rows[0].message


def test_gbk_csv_from_chinese_excel_is_read(fund, named_fund, actor):
    report = run(fund, actor, GOOD, dry_run=False, encoding="gbk")
    assert report.applied
    assert Donation.objects.get(receipt_no="JQ-001").donor_name == "张建国"


def test_wrong_columns_are_refused_with_the_missing_names(fund, actor):
    with pytest.raises(DomainError) as exc:
        run(fund, actor, "name,money\n张,100\n", dry_run=True)
    assert "票据号" in str(exc.value.message) and "金额" in str(exc.value.message)


def test_binary_garbage_is_refused_clearly(fund, actor):
    with pytest.raises(DomainError):
        import_statement(
            fund=fund, filename="x.csv", raw=b"\xff\xfe\x00\x81\x82" * 50, actor=actor, dry_run=True
        )
    with pytest.raises(DomainError):
        import_statement(fund=fund, filename="x.xlsx", raw=b"not a zip", actor=actor, dry_run=True)
    with pytest.raises(DomainError):
        import_statement(fund=fund, filename="x.pdf", raw=b"%PDF", actor=actor, dry_run=True)


def test_excel_statement_is_read(fund, actor):
    book = Workbook()
    sheet = book.active
    sheet.append(["票据号", "日期", "捐赠人", "金额", "渠道"])
    sheet.append(["X-1", "2026-03-01", "赵玉梅", 88.8, "线上募捐"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = import_statement(fund=fund, filename="s.xlsx", raw=buffer.getvalue(), actor=actor, dry_run=False)
    assert report.applied
    assert Donation.objects.get().amount_fen == 8880


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_channel_words_are_understood_whatever_the_active_language(fund, actor, language):
    from django.utils import translation

    text = (
        HEADER
        + "A-1,2026-03-01,甲,100,居民,是,,\n"
        + "A-2,2026-03-01,乙,100,charity market,是,,\n"
        + "A-3,2026-03-01,丙,100,公益市集,是,,\n"
    )
    with translation.override(language):
        report = run(fund, actor, text, dry_run=False)
    assert report.applied, [r.message for r in report.rows]
    assert sorted(Donation.objects.values_list("channel", flat=True)) == [
        "charity_market",
        "charity_market",
        "resident",
    ]


STATEMENT_COLUMNS = ["票据号", "日期", "捐赠人", "金额", "渠道"]


def test_a_tiny_excel_file_declaring_a_huge_sheet_is_read_in_little_memory(fund, actor):
    from tests.spreadsheet_files import FAR_ROW, HUGE_DIMENSION, memory_ceiling, xlsx

    raw = xlsx(
        [STATEMENT_COLUMNS, ["X-1", "2026-03-01", "赵玉梅", 88.8, "线上募捐"]],
        dimension=HUGE_DIMENSION,
        extra_rows_xml=FAR_ROW,
    )
    assert len(raw) < 6_000
    with memory_ceiling(400) as peak:
        report = import_statement(fund=fund, filename="s.xlsx", raw=raw, actor=actor, dry_run=True)
    assert [(r.receipt_no, r.status) for r in report.rows] == [("X-1", "ok")]
    assert peak[0] < 20, f"{peak[0]:.0f} MB"


def test_an_excel_file_past_the_row_limit_is_refused_before_it_is_read_whole(fund, actor, settings):
    from tests.spreadsheet_files import inline_rows_xml, memory_ceiling, xlsx

    settings.IMPORT_MAX_ROWS = 50
    raw = xlsx([STATEMENT_COLUMNS], extra_rows_xml=inline_rows_xml(2, 100_000))
    assert len(raw) < 1_000_000
    with memory_ceiling(400) as peak, pytest.raises(DomainError) as exc:
        import_statement(fund=fund, filename="s.xlsx", raw=raw, actor=actor, dry_run=True)
    assert str(exc.value.message) == "At most 50 rows can be imported at once."
    assert peak[0] < 20, f"{peak[0]:.0f} MB"
    assert Donation.objects.count() == 0


def test_a_csv_file_past_the_row_limit_is_refused(fund, actor, settings):
    settings.IMPORT_MAX_ROWS = 3
    text = GOOD + "\n" * 100_000  # blank lines do not count, and do not fill memory
    assert len(run(fund, actor, text, dry_run=True).rows) == 3
    settings.IMPORT_MAX_ROWS = 2
    with pytest.raises(DomainError) as exc:
        run(fund, actor, GOOD + "JQ-004,2026-03-04,李桂兰,5,居民,是,,\n", dry_run=True)
    assert str(exc.value.message) == "At most 2 rows can be imported at once."


def test_an_invisible_or_full_width_variant_of_a_recorded_receipt_is_skipped_as_already_recorded(
    fund, named_fund, actor
):
    run(fund, actor, GOOD, dry_run=False)
    variants = (
        HEADER
        + "JQ\u200b-001,2026-03-01,张建国,100,居民,是,,\n"
        + "ＪＱ－００２,2026-03-02,官北沟爱心超市,300,商户,否,独居老人助餐,\n"
        + "JQ-003\u2060,2026-03-03,马文斌,5000,outside_donor,是,,马氏助学\u200b冠名基金\n"
    )
    report = run(fund, actor, variants, dry_run=False)
    assert [r.status for r in report.rows] == ["skipped"] * 3
    assert Donation.objects.count() == 3
