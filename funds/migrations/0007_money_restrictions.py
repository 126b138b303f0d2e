"""The fund keeps its promises (docs/fund-rules.md): endowment principal, investment income and its
counterpart accounts; restriction changes with the donor's consent and leftover decisions, both append-only
(an ORM guard and, as for the ledger, database triggers); venture philanthropy grants, which take no
donation receipt."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

APPEND_ONLY_TABLES = ("funds_restrictionchange", "funds_leftoverdecision")

PG_FORWARD = "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION funds_ledger_append_only();
"""
    for table in APPEND_ONLY_TABLES
)
PG_BACKWARD = "".join(
    f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};\n" for table in APPEND_ONLY_TABLES
)

# The message says "append-only": the test runner's SQLite flush finds the triggers by it (tests/conftest.py).
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}
    BEGIN SELECT RAISE(ABORT, 'The ledger is append-only: {op} on {table} refused'); END;
    """
    for table in APPEND_ONLY_TABLES
    for op in ("UPDATE", "DELETE")
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {table}_no_{op};" for table in APPEND_ONLY_TABLES for op in ("update", "delete")
]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement, params=None)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0006_fund_illustrative"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="LeftoverDecision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "purpose",
                    models.CharField(
                        blank=True,
                        help_text="Empty: the whole fund closes, and everything it holds moves.",
                        max_length=200,
                        verbose_name="purpose closed",
                    ),
                ),
                (
                    "basis",
                    models.CharField(
                        choices=[
                            ("as_agreed", "as the donors agreed"),
                            ("similar_purpose", "for a similar purpose"),
                        ],
                        max_length=16,
                        verbose_name="basis",
                    ),
                ),
                ("to_purpose", models.CharField(blank=True, max_length=200, verbose_name="to purpose")),
                ("amount_fen", models.BigIntegerField(verbose_name="amount (fen)")),
                (
                    "reason",
                    models.CharField(
                        help_text="The donors' agreement it follows, or why the new purpose is similar. Shown publicly.",
                        max_length=300,
                        verbose_name="reason",
                    ),
                ),
                ("decided_on", models.DateField(verbose_name="decided on")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded")),
            ],
            options={
                "verbose_name": "leftover decision",
                "verbose_name_plural": "leftover decisions",
                "ordering": ["-decided_on", "-id"],
            },
        ),
        migrations.CreateModel(
            name="RestrictionChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "from_purpose",
                    models.CharField(
                        blank=True,
                        help_text="Empty: the named fund's own money.",
                        max_length=200,
                        verbose_name="from purpose",
                    ),
                ),
                (
                    "to_purpose",
                    models.CharField(
                        blank=True,
                        help_text="Empty: the receiving fund's own money (unrestricted, for a community fund).",
                        max_length=200,
                        verbose_name="to purpose",
                    ),
                ),
                ("amount_fen", models.BigIntegerField(verbose_name="amount (fen)")),
                (
                    "consent_by",
                    models.CharField(
                        help_text="The donor who consented.", max_length=200, verbose_name="consent given by"
                    ),
                ),
                ("consent_on", models.DateField(verbose_name="consent given on")),
                (
                    "consent_record",
                    models.CharField(
                        help_text="The reference of the signed document or message kept on file, or a note of how it was given.",
                        max_length=300,
                        verbose_name="how the consent is recorded",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded")),
            ],
            options={
                "verbose_name": "restriction change",
                "verbose_name_plural": "restriction changes",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="account",
            name="account_held_balance_not_negative",
        ),
        migrations.RemoveConstraint(
            model_name="donation",
            name="donation_receipt_or_waived",
        ),
        migrations.AlterField(
            model_name="account",
            name="kind",
            field=models.CharField(
                choices=[
                    ("general", "unrestricted money"),
                    ("restricted", "money restricted to a purpose"),
                    ("in_kind", "in-kind goods"),
                    ("principal", "endowment principal (kept, never spent)"),
                    ("income", "investment income"),
                    ("donors", "donors (outside world)"),
                    ("in_kind_donors", "in-kind donors (outside world)"),
                    ("disbursed", "disbursements (outside world)"),
                    ("investment", "investment returns (outside world)"),
                ],
                max_length=16,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="donation",
            name="channel",
            field=models.CharField(
                choices=[
                    ("resident", "resident"),
                    ("merchant", "merchant"),
                    ("charity_market", "charity market"),
                    ("business_giveback", "business-for-good giveback"),
                    ("online", "online fundraising"),
                    ("outside_donor", "outside donor"),
                    ("government", "government"),
                    ("other", "other"),
                    ("venture_grant", "venture philanthropy grant"),
                ],
                max_length=20,
                verbose_name="channel",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="fund",
            field=models.ForeignKey(
                help_text="The fund this movement is about (for named-fund transfers: the community fund; for a restriction change or a leftover: the fund the money leaves).",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="transactions",
                to="funds.fund",
                verbose_name="fund",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("donation", "donation"),
                    ("in_kind_donation", "in-kind donation"),
                    ("transfer", "transfer between funds"),
                    ("disbursement", "disbursement"),
                    ("reversal", "reversal"),
                    ("investment_income", "investment income"),
                    ("restriction_change", "restriction changed with the donor's consent"),
                    ("leftover", "leftover of a closed fund or purpose"),
                ],
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("balance_fen__gte", 0),
                    ("kind__in", ["donors", "in_kind_donors", "disbursed", "investment"]),
                    _connector="OR",
                ),
                name="account_held_balance_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("receipt_no", ""), _negated=True),
                    ("receipt_waived", True),
                    ("channel", "venture_grant"),
                    _connector="OR",
                ),
                name="donation_receipt_or_waived",
            ),
        ),
        migrations.AddConstraint(
            model_name="donation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("channel", "venture_grant"), _negated=True),
                    models.Q(("receipt_no", ""), ("receipt_waived", False)),
                    _connector="OR",
                ),
                name="donation_grant_has_no_receipt",
            ),
        ),
        migrations.AddField(
            model_name="leftoverdecision",
            name="fund",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="leftover_decisions",
                to="funds.fund",
                verbose_name="fund",
            ),
        ),
        migrations.AddField(
            model_name="leftoverdecision",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="recorded by",
            ),
        ),
        migrations.AddField(
            model_name="leftoverdecision",
            name="to_fund",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="leftovers_received",
                to="funds.fund",
                verbose_name="to fund",
            ),
        ),
        migrations.AddField(
            model_name="leftoverdecision",
            name="transaction",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="leftover_decision",
                to="funds.transaction",
                verbose_name="ledger transaction",
            ),
        ),
        migrations.AddField(
            model_name="restrictionchange",
            name="fund",
            field=models.ForeignKey(
                help_text="The fund the money leaves.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="restriction_changes",
                to="funds.fund",
                verbose_name="fund",
            ),
        ),
        migrations.AddField(
            model_name="restrictionchange",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="recorded by",
            ),
        ),
        migrations.AddField(
            model_name="restrictionchange",
            name="to_fund",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="restriction_changes_received",
                to="funds.fund",
                verbose_name="to fund",
            ),
        ),
        migrations.AddField(
            model_name="restrictionchange",
            name="transaction",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="restriction_change",
                to="funds.transaction",
                verbose_name="ledger transaction",
            ),
        ),
        migrations.AddConstraint(
            model_name="leftoverdecision",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_fen__gt", 0), ("amount_fen__lte", 1000000000000)),
                name="leftover_amount_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="leftoverdecision",
            constraint=models.CheckConstraint(
                condition=models.Q(("reason", ""), _negated=True), name="leftover_has_reason"
            ),
        ),
        migrations.AddConstraint(
            model_name="restrictionchange",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_fen__gt", 0), ("amount_fen__lte", 1000000000000)),
                name="restriction_change_amount_range",
            ),
        ),
        migrations.AddConstraint(
            model_name="restrictionchange",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("consent_by", ""), _negated=True),
                    models.Q(("consent_record", ""), _negated=True),
                ),
                name="restriction_change_has_consent",
            ),
        ),
        migrations.CreateModel(
            name="InvestmentIncome",
            fields=[],
            options={
                "verbose_name": "investment income",
                "verbose_name_plural": "investment income",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("funds.transaction",),
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
