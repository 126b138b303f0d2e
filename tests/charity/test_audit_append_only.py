"""The database itself keeps the audit log append-only, as it does the ledger (docs/append-only.md)."""

import datetime

import pytest
from django.db import DatabaseError, connection, transaction

from charity.models import AuditAction, AuditEvent
from charity.services import Actor, record_audit
from funds.models import Entry
from funds.services import post_donation
from tests.factories import FundFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(guanbeigou):
    return record_audit(
        actor=Actor.system(), action=AuditAction.API_KEY_CREATED, area=guanbeigou, summary="原文"
    )


def raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_database_refuses_to_change_an_audit_event(event):
    with pytest.raises(DatabaseError) as exc:
        raw("UPDATE charity_auditevent SET summary = %s WHERE id = %s", ["篡改", event.pk])
    assert "append-only" in str(exc.value)
    assert AuditEvent.objects.get(pk=event.pk).summary == "原文"


def test_the_database_refuses_to_delete_an_audit_event(event):
    with pytest.raises(DatabaseError) as exc:
        raw("DELETE FROM charity_auditevent WHERE id = %s", [event.pk])
    assert "append-only" in str(exc.value)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# A test that commits (transaction=True) is cleaned up by emptying every table. The two below run in this
# order: the first leaves audit events and ledger rows behind, the second finds them gone. Were the
# emptying refused by the triggers, the first would fail in its teardown.


@pytest.mark.django_db(transaction=True)
def test_a_committing_test_leaves_audit_and_ledger_rows_behind(guanbeigou):
    post_donation(
        fund=FundFactory(name="清理测试基金", community=guanbeigou),
        amount_fen=100,
        channel="resident",
        actor=Actor.system(),
        receipt_no="FLUSH-1",
        received_on=datetime.date(2026, 3, 1),
    )
    assert AuditEvent.objects.exists() and Entry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_flush_after_a_committing_test_empties_them():
    assert not AuditEvent.objects.exists() and not Entry.objects.exists()
