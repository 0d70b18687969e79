"""Hand-written SQL for the postback hot path.

A postback runs a few reads and writes of a fixed shape. Through the ORM, compiling
them costs the web process several times the CPU the database spends running them,
and CPU is what limits a busy postback endpoint, so these statements are written
here once. Column lists come from the models' fields and every value passes through
its field's own conversions, so a field added to a model needs no change here.

- ``fetch_one`` reads one row whose columns are ``columns(Model, alias)`` of one or
  more models and returns model instances (PostgreSQL and SQLite alike).
- ``insert_new_conversion`` (PostgreSQL) writes a new conversion, its "created"
  outbox event and the postback log row in one statement, or nothing at all when
  a unique constraint says the conversion exists already.
- ``insert_row`` (PostgreSQL) writes one row and sets its primary key.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from functools import cache, lru_cache

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections, models
from django.db.models import NOT_PROVIDED, signals
from django.db.models.base import ModelState

log = logging.getLogger(__name__)

# db_type() spells lengths and precisions, e.g. "varchar(12)"; a cast to that would
# silently truncate, so casts use the bare type and the column's own type checks.
_TYPE_ARGS = re.compile(r"\(.*\)")


def _db():
    """This thread's connection to the default database."""
    return connections[DEFAULT_DB_ALIAS]


def _cursor():
    """A cursor for these statements: on PostgreSQL one that binds parameters on the server.

    Django's own cursors merge parameters into the SQL text, so PostgreSQL parses and
    plans every statement afresh; with server-side binding psycopg prepares a statement
    once per connection (after ``prepare_threshold`` runs, see config/settings.py) and
    then sends only its parameters. The cursor is wrapped like Django's, so query
    logging and execute wrappers still see every statement.

    Django's health check (CONN_HEALTH_CHECKS) is skipped: it costs a round trip on
    every request. ``fetch_one`` reconnects instead when a read finds the connection
    dropped.
    """
    wrapper = _db()
    if wrapper.vendor != "postgresql":
        return wrapper.cursor()
    from psycopg.types.datetime import TimestamptzLoader

    wrapper.ensure_connection()
    cursor = _numbered_cursor_class()(wrapper.connection)
    if wrapper.timezone == UTC:
        # Django loads timestamptz with a Python subclass of psycopg's loader that swaps in
        # its own tzinfo; in UTC (the session's TimeZone, which Django sets) psycopg's C
        # loader gives the same values, and a wide row loads in half the time.
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
    return wrapper._prepare_cursor(cursor)


@cache
def _numbered_cursor_class():
    import psycopg

    class NumberedCursor(psycopg.RawCursor):
        """psycopg's raw cursor, which sends a statement's $1, $2 ... placeholders as they are.

        A cursor with %s placeholders has psycopg scan the statement for them on every
        run, and it remembers the result only for statements of at most 50 parameters:
        the new-conversion insert has more, and scanning it cost a postback about 70 us
        of CPU. Here each of this module's statements is numbered once (numbered()).
        """

        def execute(self, query, params=None, **kwargs):
            return super().execute(numbered(query), params, **kwargs)

    return NumberedCursor


_PLACEHOLDER = re.compile(r"%(.)", re.DOTALL)


@lru_cache(maxsize=64)
def numbered(sql: str) -> str:
    """``sql`` with its %s placeholders numbered as PostgreSQL's own ($1, $2 ...) and %% as %."""
    count = 0

    def number(match: re.Match) -> str:
        nonlocal count
        if match[1] == "%":
            return "%"
        if match[1] != "s":
            raise ValueError(f"unsupported placeholder %{match[1]} in {sql[:80]!r}")
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


@cache
def _fields(model: type[models.Model]) -> tuple:
    return tuple(model._meta.concrete_fields)


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in _fields(model))


@cache
def _pk_index(model: type[models.Model]) -> int:
    return _fields(model).index(model._meta.pk)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table(model: type[models.Model]) -> str:
    return _quote(model._meta.db_table)


@cache
def columns(model: type[models.Model], alias: str) -> str:
    """Every concrete column of ``model``, in field order, qualified by ``alias``."""
    return ", ".join(f"{alias}.{_quote(field.column)}" for field in _fields(model))


def _converters(model: type[models.Model], wrapper) -> tuple:
    """(index, converters, column) for the fields whose database values need converting.

    Converters are the backend's and the field's (what the ORM's compiler applies);
    they are bound to this thread's connection ``wrapper``, so they are kept on it.
    """
    cache = wrapper.__dict__.setdefault("_hub_row_converters", {})
    found = cache.get(model)
    if found is None:
        found = []
        for index, field in enumerate(_fields(model)):
            column = field.get_col(model._meta.db_table)
            converters = wrapper.ops.get_db_converters(column) + field.get_db_converters(wrapper)
            if converters:
                found.append((index, tuple(converters), column))
        found = cache[model] = tuple(found)
    return found


def to_instance(model: type[models.Model], values: list, wrapper=None):
    """A model instance from one row's values of ``columns(model, ...)``, as the ORM would build it.

    ``wrapper`` is this thread's connection when the caller has it already (finding it
    costs a few microseconds, paid for every model of a row otherwise).
    """
    wrapper = wrapper or _db()
    for index, converters, column in _converters(model, wrapper):
        value = values[index]
        for converter in converters:
            value = converter(value, column, wrapper)
        values[index] = value
    if signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model):
        return model.from_db(wrapper.alias, _attnames(model), values)
    # What Model.from_db builds for a full row, without __init__'s walk over every field
    # (no one listens to this model's init signals, so nothing else would have run).
    instance = model.__new__(model)
    instance.__dict__.update(zip(_attnames(model), values, strict=True))
    instance._state = ModelState()
    instance._state.adding = False
    instance._state.db = wrapper.alias
    return instance


def _first_row(sql: str, params):
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def fetch_one(sql: str, params, *row_models: type[models.Model]):
    """Run ``sql`` and return (instances, extra values) for its first row, or None.

    The row holds ``columns(model, alias)`` of each model in ``row_models``, in that
    order, then any extra values (returned unconverted). A model whose primary key
    is NULL in the row (an outer join that matched nothing) is None.
    """
    try:
        row = _first_row(sql, params)
    except (OperationalError, InterfaceError):
        wrapper = _db()
        if wrapper.in_atomic_block:
            raise
        # The server dropped this persistent connection (a restart, an idle timeout):
        # a read outside a transaction can simply run again on a new one.
        log.warning("database connection lost; reconnecting", exc_info=True)
        wrapper.close()
        row = _first_row(sql, params)
    if row is None:
        return None
    instances, start, wrapper = [], 0, _db()
    for model in row_models:
        width = len(_fields(model))
        values = list(row[start : start + width])
        instances.append(None if values[_pk_index(model)] is None else to_instance(model, values, wrapper))
        start += width
    return instances, row[start:]


# --- writes (PostgreSQL) ----------------------------------------------------------


@cache
def _insert_fields(model: type[models.Model], skip: tuple[str, ...] = ()) -> tuple:
    # Columns the database fills in itself (db_default, such as an outbox row's txid) are left out.
    return tuple(
        f for f in _fields(model) if not f.primary_key and f.attname not in skip and f.db_default is NOT_PROVIDED
    )


# Fields whose value of this exact type the ORM sends as it is: their pre_save reads the
# attribute and their conversion returns it unchanged. An aware datetime goes unchanged to
# PostgreSQL only; SQLite's backend turns it into text.
_UNCHANGED = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
}
_UNCHANGED_ON_POSTGRESQL = {**_UNCHANGED, models.DateTimeField: datetime}


@cache
def _value_plans(model: type[models.Model], skip: tuple[str, ...] = ()) -> tuple:
    """Per insert field: (field, attname, the value type sent unchanged or None, whether None is sent unchanged)."""
    plans = []
    unchanged = _UNCHANGED_ON_POSTGRESQL if _db().vendor == "postgresql" else _UNCHANGED
    for field in _insert_fields(model, skip):
        kind = unchanged.get(type(field))
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            kind = None
        plans.append((field, field.attname, kind, kind is not None and field.null))
    return tuple(plans)


def _values(obj: models.Model, skip: tuple[str, ...] = ()) -> list:
    """What the ORM's insert does per field: pre_save (auto_now and the like), then the
    field's conversion to a database value; skipped for a value that would come out as
    it went in (a str for a CharField, an aware datetime, ...), which saves a postback
    about half of the 50-odd conversions it would run."""
    wrapper = _db()
    values = []
    state = obj.__dict__
    for field, attname, kind, none_unchanged in _value_plans(type(obj), skip):
        if kind is not None:
            value = state.get(attname, _MISSING)
            if type(value) is kind:
                if kind is not datetime or value.tzinfo is not None:
                    values.append(value)
                    continue
            elif value is None and none_unchanged:
                values.append(None)
                continue
        values.append(field.get_db_prep_save(field.pre_save(obj, True), wrapper))
    return values


_MISSING = object()


def _cast(field) -> str:
    return "CAST(%s AS " + _TYPE_ARGS.sub("", field.db_type(_db())) + ")"


def _mark_saved(obj: models.Model, pk) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS


@cache
def _insert_sql(model: type[models.Model]) -> str:
    fields = _insert_fields(model)
    names = ", ".join(_quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {table(model)} ({names}) VALUES ({marks}) RETURNING {_quote(model._meta.pk.column)}"


def insert_row(obj: models.Model) -> None:
    """INSERT ``obj`` (a new row) in one round trip and set its primary key."""
    model = type(obj)
    with _cursor() as cursor:
        cursor.execute(_insert_sql(model), _values(obj))
        _mark_saved(obj, cursor.fetchone()[0])


@cache
def _new_conversion_sql(conversion_model, event_model, log_model) -> str:
    def insert_from_conversion(model, name: str) -> str:
        # An INSERT ... SELECT of parameters and the new conversion's id: a row only
        # when the conversion was inserted.
        fields = _insert_fields(model, skip=("conversion_id",))
        names = ", ".join(_quote(f.column) for f in fields) + ', "conversion_id"'
        values = ", ".join(_cast(f) for f in fields)
        pk = _quote(model._meta.pk.column)
        return f"{name} AS (INSERT INTO {table(model)} ({names}) SELECT {values}, conv.id FROM conv RETURNING {pk})"

    fields = _insert_fields(conversion_model)
    names = ", ".join(_quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    parts = [
        f"conv AS (INSERT INTO {table(conversion_model)} ({names}) VALUES ({marks}) "
        # Without a conflict target: the dedupe key and the one-per-transaction rule both count.
        f"ON CONFLICT DO NOTHING RETURNING {_quote(conversion_model._meta.pk.column)} AS id)",
        insert_from_conversion(event_model, "evt"),
    ]
    if log_model is None:
        final = "SELECT conv.id, evt.*, NULL FROM conv, evt"
    else:
        parts.append(insert_from_conversion(log_model, "log"))
        final = "SELECT conv.id, evt.*, log.* FROM conv, evt, log"
    return "WITH " + ", ".join(parts) + " " + final


def insert_new_conversion(conversion, event, log=None) -> bool:
    """Insert ``conversion``, its ``event`` and (optionally) its postback ``log`` in one statement.

    True: all three rows exist and have their primary keys. False: a unique constraint
    (dedupe key, one conversion per transaction id) matched an existing conversion, and
    nothing was written. A concurrent insert of the same conversion is waited for, as
    any unique index does; it decides the outcome once it commits or rolls back.
    """
    conversion_model, event_model = type(conversion), type(event)
    log_model = type(log) if log is not None else None
    params = _values(conversion)
    params += _values(event, skip=("conversion_id",))
    if log is not None:
        params += _values(log, skip=("conversion_id",))
    with _cursor() as cursor:
        cursor.execute(_new_conversion_sql(conversion_model, event_model, log_model), params)
        row = cursor.fetchone()
    if row is None:
        return False
    conversion_id, event_id, log_id = row
    _mark_saved(conversion, conversion_id)
    _mark_saved(event, event_id)
    event.conversion_id = conversion_id
    if log is not None:
        _mark_saved(log, log_id)
        log.conversion_id = conversion_id
    return True
