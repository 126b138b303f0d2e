# Owned by one change; filled in by hand with that change's operations only.
# Accounts: one-time codes and the message outbox; usernames are no longer mobile numbers.

import re
import secrets

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def rename_mobile_usernames(apps, schema_editor):
    """Give every user whose username is a mobile number an opaque one ("r" + 10 random characters).

    Residents keep logging in with their mobile number: the log-in looks it up on their Person record.
    """
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    taken = set(User.objects.values_list("username", flat=True))
    for user in User.objects.filter(username__regex=r"^1[3-9][0-9]{9}$").only("pk", "username"):
        if not MOBILE_RE.match(user.username):
            continue
        username = "r" + secrets.token_hex(5)
        while username in taken:
            username = "r" + secrets.token_hex(5)
        taken.add(username)
        User.objects.filter(pk=user.pk).update(username=username)


class Migration(migrations.Migration):
    dependencies = [
        ("charity", "0002_audit_actions_consent"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="OneTimeCode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("mobile", models.CharField(max_length=11, verbose_name="mobile number")),
                (
                    "purpose",
                    models.CharField(
                        choices=[("signup", "sign-up"), ("reset", "password reset")],
                        max_length=16,
                        verbose_name="purpose",
                    ),
                ),
                ("code_hash", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="requested")),
                ("expires_at", models.DateTimeField(verbose_name="expires")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="wrong attempts")),
                ("used_at", models.DateTimeField(blank=True, null=True, verbose_name="used")),
                ("requester_ip", models.GenericIPAddressField(blank=True, null=True, verbose_name="requested from")),
            ],
            options={
                "verbose_name": "one-time code",
                "verbose_name_plural": "one-time codes",
                "indexes": [
                    models.Index(fields=["mobile", "created_at"], name="onetimecode_mobile_idx"),
                    models.Index(fields=["requester_ip", "created_at"], name="onetimecode_ip_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("mobile", models.CharField(max_length=11, verbose_name="mobile number")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("signup_code", "sign-up code"),
                            ("already_registered", "already registered"),
                            ("reset_code", "password reset code"),
                            ("password_changed", "password changed"),
                        ],
                        max_length=32,
                        verbose_name="kind",
                    ),
                ),
                ("text", models.CharField(max_length=500, verbose_name="text")),
                ("redacted_text", models.CharField(blank=True, max_length=500)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "waiting to be sent"),
                            ("sending", "being sent"),
                            ("sent", "sent"),
                            ("failed", "failed"),
                        ],
                        default="pending",
                        max_length=16,
                        verbose_name="status",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="created")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent")),
                ("last_error", models.CharField(blank=True, max_length=300, verbose_name="last error")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="created by",
                    ),
                ),
            ],
            options={
                "verbose_name": "outgoing message",
                "verbose_name_plural": "outgoing messages",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.RunPython(rename_mobile_usernames, migrations.RunPython.noop),
    ]
