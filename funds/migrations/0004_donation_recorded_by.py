# Owned by one change; filled in by hand with that change's operations only.
# An organisation refunds only the donations it recorded: the donation remembers which organisation
# recorded it. Donations recorded before this column existed get it from their "donation.posted" audit
# event, which has always named the acting organisation.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast


def recorded_by_from_audit(apps, schema_editor):
    Donation = apps.get_model("funds", "Donation")
    AuditEvent = apps.get_model("charity", "AuditEvent")
    posted = AuditEvent.objects.filter(
        action="donation.posted",
        object_type="funds.donation",
        object_id=Cast(OuterRef("pk"), CharField()),
        actor_organization__isnull=False,
    ).values("actor_organization_id")[:1]
    Donation.objects.filter(recorded_by_organization__isnull=True).update(
        recorded_by_organization_id=Subquery(posted)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0003_ledger_no_delete_sqlite"),
    ]

    operations = [
        migrations.AddField(
            model_name="donation",
            name="recorded_by_organization",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="charity.organization",
                verbose_name="recorded by (organisation)",
            ),
        ),
        migrations.RunPython(recorded_by_from_audit, migrations.RunPython.noop),
    ]
