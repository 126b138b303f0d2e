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

import operator
import re
from functools import cache

from django.db import connection, models
from django.db.backends.utils import CursorDebugWrapper


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Django's query log for a prepared statement: the SQL as written, with its parameters.

    psycopg records the text of unprepared statements only, so the usual "last executed query" would be
    empty here; logging the statement as given needs no private driver hook.
    """

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params, use_last_executed_query=False):
            # The plain wrapper's execute (execute_wrappers, error translation), skipping the parent's
            # own logging of the empty last-executed query.
            return super(CursorDebugWrapper, self).execute(sql, params)


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


def _saved_values(obj, fields) -> list:
    """The values save() would write for `fields` of an unsaved instance (pre_save sets auto_now_add)."""
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def insert_rows(objs: list) -> list:
    """INSERT unsaved instances of one model in one statement; set and return their primary keys."""
    model = type(objs[0])
    sql, fields = _insert_sql(model, len(objs))
    params = [value for obj in objs for value in _saved_values(obj, fields)]
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


# Fields whose Python value psycopg writes exactly as Django's get_db_prep_save() would prepare it on
# PostgreSQL (text, whole numbers, booleans, dates and aware datetimes, foreign keys as ids): insert_values
# copies their values as they are. Any other field (JSON, decimals…) goes through get_db_prep_save().
_PLAIN_ON_POSTGRES = (
    models.CharField,
    models.TextField,
    models.BooleanField,
    models.IntegerField,  # and BigIntegerField, SmallIntegerField, the positive ones
    models.DateField,  # and DateTimeField
    models.ForeignKey,  # and OneToOneField: the attname holds the id
)


@cache
def _value_columns(model) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


def insert_values(model, rows: list[dict], *, returning: bool = True) -> list[int]:
    """INSERT rows of `model` given as {attname: value} for every concrete field but the primary key — the
    values an instance holds after pre_save() (auto_now_add: the time) — and return their new primary keys,
    in order (with `returning`; else an empty list). For the bulk write paths (a 100,000-row statement),
    where building model instances would cost more than the database does.

    PostgreSQL: the rows are sent with COPY (one stream per call, no SQL text to build or parse); the keys
    are drawn from the table's sequence first when they are wanted, else the column's default draws them.
    Other backends: multi-row INSERTs, as insert_many. A missing attname raises KeyError: a field added to
    the model must be given here too.
    """
    if not rows:
        return []
    fields = _value_columns(model)
    if connection.vendor != "postgresql":
        pks: list[int] = []
        size = max(1, min(ROWS_PER_INSERT, connection.ops.bulk_batch_size(list(fields), rows)))
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            sql, _fields = _insert_sql(model, len(chunk))
            params = [f.get_db_prep_save(row[f.attname], connection) for row in chunk for f in fields]
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                pks.extend(pk for (pk,) in cursor.fetchall())
        return pks if returning else []
    quote = connection.ops.quote_name
    table, pk_column = model._meta.db_table, model._meta.pk.column
    values_of = operator.itemgetter(*(f.attname for f in fields))
    prepared = [(i, f) for i, f in enumerate(fields) if not isinstance(f, _PLAIN_ON_POSTGRES)]
    columns = [f.column for f in fields]
    pks = []
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk_column, len(rows)],
            )
            pks = [pk for (pk,) in cursor.fetchall()]
            columns.insert(0, pk_column)
        sql = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
        # The driver's COPY, through Django's error translation (a unique violation is an IntegrityError).
        with connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
            for i, row in enumerate(rows):
                values = values_of(row)
                if prepared:
                    values = list(values)
                    for j, field in prepared:
                        values[j] = field.get_db_prep_save(values[j], connection)
                copy.write_row((pks[i], *values) if returning else values)
    return pks


# Rows per INSERT for insert_many: large enough that a statement's round trip costs little per row, small
# enough that its SQL text stays a few hundred kilobytes (PostgreSQL: the parameters are bound client-side).
ROWS_PER_INSERT = 500


def insert_many(objs: list) -> list:
    """insert_rows for any number of unsaved instances of one model, in as few statements as the backend
    allows (SQLite caps the parameters of one statement); set and return their primary keys."""
    if not objs:
        return objs
    fields = [f for f in type(objs[0])._meta.concrete_fields if not f.primary_key]
    size = max(1, min(ROWS_PER_INSERT, connection.ops.bulk_batch_size(fields, objs)))
    for start in range(0, len(objs), size):
        insert_rows(objs[start : start + size])
    return objs


_SIZED_VARCHAR = re.compile(r"varchar\(\d+\)")


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
        if db_type.startswith(("char(", "character(")):
            raise ValueError(f"{f}: a cast to {db_type} would truncate silently")
        placeholder = "%s::" + ("varchar" if _SIZED_VARCHAR.fullmatch(db_type) else db_type)
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
    return sql, _saved_values(obj, fields)


@cache
def _preparing_cursor_class():
    import psycopg  # only on PostgreSQL
    from psycopg.types.numeric import Int8

    class PreparingCursor(psycopg.Cursor):
        """A server-side binding cursor that prepares every statement it runs.

        Every int is sent as int8, so that one statement is prepared once rather than once per int2/int4/int8
        combination of its values.
        """

        def execute(self, query, params=None, *, prepare=None, binary=None):
            if params is not None:
                params = [Int8(p) if type(p) is int else p for p in params]  # not bool, an int subclass
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

    return PreparingCursor


def execute_prepared(sql: str, params: list) -> list[tuple]:
    """PostgreSQL: run one statement as a prepared statement on Django's connection; return its rows.

    Through Django's cursor wrapper, so errors become django.db errors (IntegrityError…), execute_wrappers and
    query logging see it, and a broken transaction is refused as usual. psycopg keeps the prepared statement
    per connection (at most `prepared_max`), and PostgreSQL re-plans it if the schema changes. A rollback of
    the connection's transaction makes psycopg forget (DEALLOCATE) them all.
    """
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    cursor = _preparing_cursor_class()(raw)
    wrapper = (
        _PreparedDebugWrapper(cursor, connection)
        if connection.queries_logged
        else connection.make_cursor(cursor)
    )
    # Django turns psycopg's preparing off (prepare_threshold=None), and that refuses prepare=True too. It is
    # on for this statement only: while it is on, psycopg also watches every other statement on the
    # connection and forgets its prepared statements after any ROLLBACK TO SAVEPOINT.
    previous = raw.prepare_threshold
    if previous is None:
        raw.prepare_threshold = 2**62  # no statement is ever prepared for being run often, only when asked
    try:
        with wrapper as c:
            c.execute(sql, params)
            return c.fetchall()
    finally:
        raw.prepare_threshold = previous  # a threshold set in the settings' OPTIONS stays as it was
