from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("charity", "0005_audit_append_only"),
    ]

    operations = [
        migrations.AlterField(
            model_name="organization",
            name="type",
            field=models.CharField(
                choices=[
                    ("neighbourhood_committee", "neighbourhood committee"),
                    ("street_office", "street office"),
                    ("hub", "hub organisation"),
                    ("community_group", "community social organisation"),
                    ("social_work_agency", "social work agency"),
                    ("volunteer_team", "volunteer organisation / team"),
                    ("enterprise", "caring enterprise"),
                    ("merchant", "caring merchant"),
                    ("property_manager", "property management company"),
                    ("charity_federation", "charity federation"),
                    ("foundation", "foundation"),
                    ("party_organisation", "community Party organisation"),
                    ("charity_supermarket", "charity supermarket"),
                    ("charity_station", "street charity workstation / donation point"),
                    ("charity_association", "local charity association"),
                    ("enterprise_alliance", "caring enterprise alliance"),
                    ("research_partner", "university / research institute"),
                ],
                max_length=32,
                verbose_name="type",
            ),
        ),
    ]
