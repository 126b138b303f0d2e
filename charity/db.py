"""Plain row inserts for the hot write paths (ledger postings, audit events).

Model.save() and bulk_create() pay for machinery the append-only tables never use (signals, update
detection, the query compiler) — about half of a donation's CPU on our 2-core machines. These helpers
insert exactly what save() would: every concrete field through its own pre_save() (so auto_now_add
works) and get_db_prep_save() (so JSON, dates and decimals are adapted as usual), with one cached SQL
string per model. Only for models without save() overrides that matter and without signal receivers.
"""

from functools import cache

from django.db import connection


@cache
def _insert_sql(model, rows: int) -> tuple[str, tuple]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "
        f"{', '.join([placeholders] * rows)} RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, fields


def insert_rows(objs: list) -> list:
    """INSERT unsaved instances of one model in one statement; set and return their primary keys."""
    model = type(objs[0])
    sql, fields = _insert_sql(model, len(objs))
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pks = [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs


def insert_row(obj):
    """INSERT one unsaved instance; set its primary key and return it."""
    return insert_rows([obj])[0]
