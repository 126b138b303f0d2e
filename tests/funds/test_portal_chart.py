"""The income-by-channel chart is laid out on the server: each label on its own line above its bar, so a long
English channel name can never run into the bars; a name too long for the line is shortened (its full
text stays in the tooltip). A browser checks the drawn boxes too (tests/e2e/test_portal_browser.py)."""

import pytest
from django.utils import translation

from funds.models import Donation
from funds.views import CHART_WIDTH, channel_chart, fit_text, text_width

pytestmark = pytest.mark.django_db

EVERY_CHANNEL = {c: 1_000_000 * (i + 1) + 50 for i, c in enumerate(Donation.Channel.values)}


def rows(chart):
    """Each bar's boxes in the chart's units: label line, bar and amount (left, top, right, bottom)."""
    for bar in chart["bars"]:
        size = chart["label_size"]
        label = (0, bar["label_y"] - size, text_width(bar["label"], size), bar["label_y"] + 0.25 * size)
        rect = (0, bar["y"], bar["width"], bar["y"] + chart["bar_height"])
        amount_size = chart["amount_size"]
        amount = (
            bar["text_x"],
            bar["text_y"] - amount_size,
            bar["text_x"] + text_width(bar["amount"], amount_size),
            bar["text_y"] + 0.25 * amount_size,
        )
        yield label, rect, amount


def overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_no_label_or_amount_touches_a_bar_or_another_text(language):
    with translation.override(language):
        chart = channel_chart(EVERY_CHANNEL)
    boxes = [box for row in rows(chart) for box in row]
    assert len(boxes) == 3 * len(Donation.Channel.values)
    for i, a in enumerate(boxes):
        assert a[2] <= CHART_WIDTH, f"{a} runs past the right edge"
        assert a[3] <= chart["height"], f"{a} runs past the bottom"
        for b in boxes[i + 1 :]:
            assert not overlap(a, b), (a, b)


def test_the_longest_english_channel_name_is_shown_whole():
    with translation.override("en"):
        chart = channel_chart({"business_giveback": 500, "online": 100})
    assert [b["label"] for b in chart["bars"]] == ["business-for-good giveback", "online fundraising"]


def test_a_name_too_long_for_the_line_is_shortened():
    long_name = "a channel with a name so long that no phone could show it on one line beside anything"
    short = fit_text(long_name, 16, CHART_WIDTH)
    assert short.endswith("…") and long_name.startswith(short[:-1])
    assert CHART_WIDTH - 16 < text_width(short, 16) <= CHART_WIDTH
    assert fit_text("慈善超市" * 30, 16, CHART_WIDTH) == "慈善超市" * 5 + "…"
    assert fit_text("online fundraising", 16, CHART_WIDTH) == "online fundraising"


def test_the_widest_amount_still_fits_beside_the_longest_bar():
    chart = channel_chart({"resident": 123_456_789_012, "merchant": 1})
    top = chart["bars"][0]
    assert top["text_x"] + text_width(top["amount"], chart["amount_size"]) <= CHART_WIDTH
    assert chart["bars"][1]["width"] >= 2  # a tiny amount still shows a sliver


def test_chinese_characters_count_as_full_width():
    assert text_width("慈善", 16) == 32
    assert text_width("ab", 16) < 32


def test_fund_page_draws_labels_above_their_bars_with_a_tooltip(client, fund, give):
    give(fund, 10_000, channel="business_giveback")
    html = client.get(f"/funds/{fund.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<title>business-for-good giveback</title>" in html
    assert ">business-for-good giveback</text>" in html
