"""Serialisation benchmark: microseconds per object the API writes, against DRF's own serialiser code. Run:

    .venv/bin/python bench/api_serializers.py

No database: it builds 50 donations in memory (each kind: money and goods with a decimal quantity, a resident
or an organisation as donor, published, anonymous, refunded), with their `.values()` rows as the donation
list reads them, and writes them as a hub's API key sees them:

- the list's path: `.values()` rows through DonationSerializer (FastRepresentationMixin's row plan);
- the detail's path: model instances through the same serialiser (its instance plan);
- DRF's own code for the same instances, through the same fields (`drf_representation`), for comparison;
- a fund with its balances (FundDetailSerializer).

Each figure is CPU time (this thread's, `time.thread_time`: the time other processes take the CPU away is not
counted), the best of 7 runs of --rounds rounds, divided by the objects written; the best, not the mean,
because a shared machine only ever adds time. Target (issue 9): at most 20 µs per
donation on both paths; a miss makes the exit status non-zero. The three donation paths must write the same
JSON.
"""

import argparse
import datetime
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charity.settings")

import django  # noqa: E402

django.setup()

from charity.models import Organization, Person  # noqa: E402
from funds.api import DonationSerializer, FundDetailSerializer  # noqa: E402
from funds.models import Donation, Fund  # noqa: E402
from funds.selectors import FundBalance  # noqa: E402

TARGET_US = 20.0
OBJECTS = 50


def donations() -> list[Donation]:
    created = datetime.datetime(2026, 3, 1, 2, 30, tzinfo=datetime.UTC)
    person = Person(id=7, name="张建国")
    merchant = Organization(id=9, name="官北沟爱心超市")
    rows = []
    for i in range(OBJECTS):
        kind = i % 5
        d = Donation(
            id=1000 + i,
            fund_id=1,
            form="in_kind" if kind == 1 else "money",
            amount_fen=10_000 + i,
            channel="merchant" if kind == 2 else "resident",
            donor_name="李四" if kind in (0, 1) else "",
            anonymous=kind == 3,
            publish_name=kind in (0, 2),
            receipt_no="" if kind == 1 else f"JQ-{i:04d}",
            receipt_waived=kind == 1,
            received_on=datetime.date(2026, 3, 1),
            restriction="purpose" if kind == 4 else "unrestricted",
            purpose="助老" if kind == 4 else "",
            item_description="大米" if kind == 1 else "",
            item_quantity=Decimal("2.5") if kind == 1 else None,
            item_unit="袋" if kind == 1 else "",
            transaction_id=5000 + i,
            refund_transaction_id=9000 + i if i == 7 else None,
            refund_reason="重复转账" if i == 7 else "",
            created_at=created,
        )
        if kind == 2:
            d.donor_organization = merchant
        elif kind in (3, 4):
            d.donor_person = person
        rows.append(d)
    return rows


def as_row(d: Donation, consents: set[int]) -> dict:
    """The row DonationViewSet's list reads with `.values(*DonationSerializer.row_values())`."""
    row = {}
    for name in DonationSerializer.row_values():
        if name == "donor_consented":
            row[name] = d.donor_person_id in consents
        elif name.endswith("__name"):
            related = getattr(d, name.split("__")[0])
            row[name] = related.name if related is not None else None
        else:
            row[name] = getattr(d, name)
    return row


def best(fn, objects: int, rounds: int) -> float:
    fn()
    times = []
    for _ in range(7):
        start = time.thread_time()
        for _ in range(rounds):
            fn()
        times.append((time.thread_time() - start) / rounds / objects * 1e6)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    instances = donations()
    consents = {7}
    rows = [as_row(d, consents) for d in instances]
    context = {"donor_consents": consents}

    def listed():
        return DonationSerializer(rows, many=True, context=context).data

    def detailed():
        return DonationSerializer(instances, many=True, context=context).data

    serializer = DonationSerializer(context=context)

    def drf():
        return [serializer.drf_representation(d) for d in instances]

    outputs = {json.dumps(f(), ensure_ascii=False) for f in (listed, detailed, drf)}
    if len(outputs) != 1:
        sys.exit("The list's rows, the instances and DRF's own code wrote different JSON.")

    fund = Fund(id=1, name="官北沟社区慈善基金", kind="community", community_id=8, host_id=3, status="open",
                opened_on=datetime.date(2025, 1, 1))  # fmt: skip
    balances = {
        1: FundBalance(balance_fen=1_000_000, restricted_fen=200_000, restricted_by_purpose={"助老": 200_000})
    }

    figures = {
        "donation, list (.values() row)": best(listed, OBJECTS, args.rounds),
        "donation, detail (instance)": best(detailed, OBJECTS, args.rounds),
        "donation, DRF's own code": best(drf, OBJECTS, args.rounds),
        "fund with balances (detail)": best(
            lambda: FundDetailSerializer(fund, context={"balances": balances}).data, 1, args.rounds * 10
        ),
    }
    for label, us in figures.items():
        print(f"{label:<34} {us:7.1f} µs per object")
    missed = [
        label for label in ("donation, list (.values() row)", "donation, detail (instance)")
        if figures[label] > TARGET_US
    ]  # fmt: skip
    for label in ("donation, list (.values() row)", "donation, detail (instance)"):
        verdict = "MISSED" if label in missed else "met"
        print(f"  target {label} ≤ {TARGET_US:.0f} µs: {figures[label]:.1f} — {verdict}")
    if missed:
        sys.exit("Targets missed: " + ", ".join(missed))


if __name__ == "__main__":
    main()
