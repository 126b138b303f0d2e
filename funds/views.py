"""Public fund pages: anyone can see every gift on the record — donors named only with their consent."""

import unicodedata

from django import forms
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from charity.models import Area
from charity.public_pages import local_to, public_page
from charity.selectors import get_area_chain
from charity.templatetags.money import format_fen

from . import selectors, spending
from .models import Donation, Fund

CHART_WIDTH = 340
LABEL_SIZE = 16  # the chart is drawn about 1:1 on a 390 px phone: 16 units are 16–17 px
AMOUNT_SIZE = 15
BAR_HEIGHT = 22
# A row: room above the label for its font's ascent, the label, a gap, the bar, space before the next row.
ROW_HEIGHT = 2 + LABEL_SIZE + 8 + BAR_HEIGHT + 12


def _em(char: str) -> float:
    """How wide a character is, in ems, rounded up for the widest common sans-serif fonts (DejaVu, Roboto)."""
    if unicodedata.east_asian_width(char) in {"W", "F", "A"}:
        return 1.0  # Chinese characters, full-width punctuation, and the ellipsis
    if char in " .,:;'!|ijlrtf()-":
        return 0.4
    if char in "mwMW":
        return 0.95
    if char.isupper():
        return 0.75
    return 0.64  # lower-case letters, digits, ¥


def text_width(text: str, size: float) -> float:
    """Estimate how wide `text` is drawn at font size `size` (no font metrics here: an upper bound)."""
    return sum(_em(c) for c in text) * size


def fit_text(text: str, size: float, width: float) -> str:
    """Shorten `text` with an ellipsis so it fits in `width` at font size `size`."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def channel_chart(income: dict[str, int]) -> dict:
    """Bars for income by channel, laid out on the server so the chart needs no JavaScript.

    Each channel's name sits on its own line above its bar and the amount follows the bar: a long name (the
    English ones are three times as wide as the Chinese) can never run into a bar. A name wider than the
    chart is shortened; the full name stays in the bar's tooltip.
    """
    labels = dict(Donation.Channel.choices)
    rows = sorted(
        ((str(labels[c]), amount) for c, amount in income.items() if amount > 0), key=lambda r: -r[1]
    )
    top = max((a for _l, a in rows), default=0)
    amounts = [format_fen(amount) for _label, amount in rows]
    span = CHART_WIDTH - max((text_width(a, AMOUNT_SIZE) for a in amounts), default=0) - 8
    bars = []
    for i, ((label, amount), shown) in enumerate(zip(rows, amounts, strict=True)):
        label_y = i * ROW_HEIGHT + 2 + LABEL_SIZE
        width = max(2, round(span * amount / top)) if top else 0
        bar_y = label_y + 8
        bars.append(
            {
                "label": fit_text(label, LABEL_SIZE, CHART_WIDTH),
                "title": label,
                "amount": shown,
                "label_y": label_y,
                "y": bar_y,
                "width": width,
                "text_x": width + 6,
                "text_y": bar_y + round(BAR_HEIGHT / 2 + AMOUNT_SIZE * 0.35),
            }
        )
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": max(1, len(bars) * ROW_HEIGHT - 8),
        "bar_height": BAR_HEIGHT,
        "label_size": LABEL_SIZE,
        "amount_size": AMOUNT_SIZE,
        "total": sum(income.values()),
    }


@public_page()
def community_funds(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
    local_to(request, area.pk)  # the balances
    funds = list(
        Fund.objects.filter(community=area, kind=Fund.Kind.COMMUNITY)
        .select_related("host")
        .order_by("-status", "name")
    )
    if len(funds) == 1:
        return redirect("funds:fund", pk=funds[0].pk)
    balances = selectors.get_fund_balances(funds)
    return render(
        request,
        "funds/community_funds.html",
        {
            "area": area,
            "funds": [(f, balances[f.pk]) for f in funds],
        },
    )


PROMISES_SHOWN = 50  # grants, leftover decisions and restriction changes: the latest, on one page


@public_page(params=("page",))
def fund_page(request, pk):
    fund = get_object_or_404(Fund.objects.select_related("community", "host", "parent"), pk=pk)
    local_to(request, fund.community_id)  # before the gifts and balances are read
    named = list(fund.named_funds.order_by("name"))
    balances = selectors.get_fund_balances([fund, *named])
    year = timezone.localdate().year
    income = selectors.income_by_channel(fund, year)
    # Past the last page (or a page that is not a number) shows the nearest real page, not an error.
    page = Paginator(selectors.list_fund_donations(fund), 30).get_page(request.GET.get("page"))
    committee_id = getattr(getattr(fund, "committee", None), "pk", None)
    return render(
        request,
        "funds/fund.html",
        {
            "fund": fund,
            "balance": balances[fund.pk],
            "chain": get_area_chain(fund.community),
            "named": [(f, balances[f.pk]) for f in named],
            "chart": channel_chart(income),
            "year": year,
            "page": page,
            "committee_id": committee_id,
            # Donation → decision → payment → result: each payment links to its proposal and report.
            "payments": spending.list_payments(fund),
            # Grants apart from gifts; what was done with leftovers and restricted money (CL arts. 56, 58).
            "grants_fen": selectors.grants_received_fen(fund, year),
            "grants": list(selectors.list_fund_donations(fund, grants=True)[:PROMISES_SHOWN]),
            "leftovers": list(selectors.list_leftover_decisions(fund)[:PROMISES_SHOWN]),
            "restriction_changes": list(selectors.list_restriction_changes(fund)[:PROMISES_SHOWN]),
        },
    )


class ReceiptForm(forms.Form):
    # No max_length or required check here: the view says what is wrong in its own words.
    receipt = forms.CharField(
        label=gettext_lazy("Receipt number"),
        required=False,
        help_text=gettext_lazy("As printed on the donation receipt the host gave you."),
    )


@public_page(params=("receipt",))
def where_my_gift_went(request, pk):
    """ "Where did my gift go" (Charity Law art. 42): a donor enters a receipt number and sees which
    proposals spent the money their gift is part of. A receipt number only points at a gift already listed
    on the fund's page (date, amount, restriction, a name only with consent): guessing numbers reveals
    nothing more, so nothing is rate-limited. The number is read from the query string: `public_page` keys
    the cache on it (a number of digits only) or does not cache the answer (any other)."""
    fund = get_object_or_404(Fund.objects.select_related("community", "host", "parent"), pk=pk)
    local_to(request, fund.community_id)
    context = {"fund": fund, "form": ReceiptForm(request.GET or None), "gift": None, "path": None}
    status = 200
    if "receipt" in request.GET:
        receipt = spending.normalize_receipt(request.GET.get("receipt", ""))
        form = context["form"]
        form.is_valid()
        if not receipt:
            form.add_error("receipt", _("Enter the receipt number printed on your donation receipt."))
            status = 400
        elif len(receipt) > spending.RECEIPT_MAX:
            form.add_error(
                "receipt",
                _("A receipt number has at most %(max)d characters.") % {"max": spending.RECEIPT_MAX},
            )
            status = 400
        else:
            gift = spending.find_gift(fund, receipt)
            if gift is None:
                form.add_error(
                    "receipt",
                    _(
                        "No gift to %(fund)s has this receipt number. Check the number on your receipt, and "
                        "that the receipt names this fund."
                    )
                    % {"fund": fund.name},
                )
                status = 404
            else:
                context["gift"] = gift
                if not gift.is_refunded and gift.form == Donation.Form.MONEY:
                    context["path"] = spending.gift_path(gift)
    return render(request, "funds/where.html", context, status=status)
