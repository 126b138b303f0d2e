"""Public fund pages: anyone can see where every yuan went — donors named only with their consent."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from charity.models import Area
from charity.selectors import get_area_chain
from charity.templatetags.money import format_fen

from . import selectors
from .models import Donation, Fund

CHART_WIDTH = 340
BAR_HEIGHT = 26
LABEL_WIDTH = 120


def channel_chart(income: dict[str, int]) -> dict:
    """Bars for income by channel, sized server-side so the chart needs no JavaScript."""
    labels = dict(Donation.Channel.choices)
    rows = sorted(((labels[c], amount) for c, amount in income.items() if amount > 0), key=lambda r: -r[1])
    top = max((a for _l, a in rows), default=0)
    span = CHART_WIDTH - LABEL_WIDTH - 90
    bars = [
        {
            "label": label,
            "amount": format_fen(amount),
            "y": i * (BAR_HEIGHT + 8),
            "width": max(2, round(span * amount / top)) if top else 0,
        }
        for i, (label, amount) in enumerate(rows)
    ]
    for bar in bars:
        bar["text_x"] = LABEL_WIDTH + bar["width"] + 6
        bar["text_y"] = bar["y"] + BAR_HEIGHT - 8
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": max(1, len(bars) * (BAR_HEIGHT + 8)),
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "total": sum(income.values()),
    }


def community_funds(request, pk):
    area = get_object_or_404(Area, pk=pk, level=Area.Level.COMMUNITY)
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


def fund_page(request, pk):
    fund = get_object_or_404(Fund.objects.select_related("community", "host", "parent"), pk=pk)
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
        },
    )
