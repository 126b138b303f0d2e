"""Plain row inserts for the hot write paths (ledger postings, audit events).

Model.save() and bulk_create() pay for machinery the append-only tables never use (signals, update
detection, the query compiler) — about half of a donation's CPU on our 2-core machines. These helpers
insert exactly what save() would: every concrete field through its own pre_save() (so auto_now_add
works) and get_db_prep_save() (so JSON, dates and decimals are adapted as usual), with one cached SQL
string per model. Only for models without save() overrides that matter and without signal receivers.

`execute_prepared` runs one statement as a PostgreSQL prepared statement, for a hot path that is one
statement: Django binds parameters on the client (psycopg's ClientCursor), so PostgreSQL would otherwise
parse and plan it again on every call.
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


@cache
def _insert_select_sql(model, computed: tuple[tuple[str, str], ...]) -> tuple[str, tuple]:
    expressions = dict(computed)
    quote = connection.ops.quote_name
    columns, values, fields = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(quote(f.column))
        # Typed, so that a server-side bound NULL or string has a type; a varchar loses its length here
        # (an explicit cast to varchar(n) would truncate) and the column's own length still holds.
        db_type = f.db_type(connection)
        placeholder = f"%s::{'varchar' if db_type.startswith('varchar(') else db_type}"
        expression = expressions.get(f.column, placeholder)
        if expression is placeholder or "{value}" in expression:
            fields.append(f)
        values.append(expression.replace("{value}", placeholder))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)}) SELECT {', '.join(values)}"
    return sql, tuple(fields)


def insert_select(obj, computed: dict[str, str]) -> tuple[str, list]:
    """`INSERT INTO <table> (<columns>) SELECT <values>` for one unsaved instance, and its parameters.

    For a statement that writes several related rows at once (a PostgreSQL data-modifying CTE): every field
    is a parameter prepared exactly as save() would prepare it, except the columns in `computed`, which map
    to an SQL expression (`txn.id`); in an expression, `{value}` stands for the field's own parameter. The
    caller appends FROM / WHERE / RETURNING.
    """
    sql, fields = _insert_select_sql(type(obj), tuple(sorted(computed.items())))
    return sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


@cache
def _preparing_cursor_class():
    import psycopg  # only on PostgreSQL

    class PreparingCursor(psycopg.Cursor):
        """A server-side binding cursor that prepares every statement it runs."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg records the query for unprepared statements only; Django's query log reads it.
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparingCursor


def execute_prepared(sql: str, params: list) -> list[tuple]:
    """PostgreSQL: run one statement as a prepared statement on Django's connection; return its rows.

    Through Django's cursor wrapper, so errors become django.db errors (IntegrityError…), execute_wrappers and
    query logging see it, and a broken transaction is refused as usual. psycopg keeps the prepared statement
    per connection (at most `prepared_max`) and PostgreSQL re-plans it if the schema changes.
    """
    connection.ensure_connection()
    connection.validate_thread_sharing()
    if connection.connection.prepare_threshold is None:
        # Django turns psycopg's automatic preparing off, and that refuses prepare=True too. Its own cursors
        # bind on the client and never prepare, so a threshold no statement reaches changes nothing else.
        connection.connection.prepare_threshold = 2**62
    raw = _preparing_cursor_class()(connection.connection)
    wrapper = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with wrapper as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
