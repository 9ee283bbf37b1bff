"""Inserting the rows every trigger writes, without the ORM's per-statement compiler.

A sync trigger writes a run, its component runs and its events. ``bulk_create``
compiles its ``INSERT`` anew every time (field lists, placeholders, returning clause):
profiling put that at a fifth of a small trigger's CPU. Here each model's statement
is built once per process and connection vendor. Values go through each field's
``get_db_prep_save`` (:func:`rows_insert`), or, on the event loop's own SQLite
connection, through the same conversions done directly (:func:`rows_insert_sqlite`):
either way what is stored is what the ORM would store.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Model

_statements: dict[tuple[type[Model], str, str], tuple[str, list]] = {}


def _statement(model: type[Model], connection, placeholder: str = "%s") -> tuple[str, list]:
    key = (model, connection.vendor, placeholder)
    found = _statements.get(key)
    if found is None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in fields)
        placeholders = ", ".join([placeholder] * len(fields))
        sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
        if placeholder == "%s":
            sql += f" RETURNING {quote(model._meta.pk.column)}"
        found = _statements[key] = (sql, fields)
    return found


def instance[M: Model](model: type[M], **values: Any) -> M:
    """``model(**values)`` through Django's positional fast path (the one ``from_db``
    takes): a run and its component runs are built on every trigger, and the keyword
    path resolves each field's name, related descriptor and default one by one, about
    twice as slow. Same instance: fields not given take their defaults, related
    objects given by name are cached on it as the descriptor would."""
    plan = _init_plans.get(model)
    if plan is None:
        plan = _init_plans[model] = [
            (f.name, f.attname, f.get_default, f if f.is_relation else None) for f in model._meta.concrete_fields
        ]
    args = []
    related = []
    for name, attname, default, relation in plan:
        if name in values:
            value = values.pop(name)
            if relation is not None:
                related.append((relation, value))
                value = None if value is None else value.pk
        elif attname in values:
            value = values.pop(attname)
        else:
            value = default()
        args.append(value)
    if values:
        raise TypeError(f"{model.__name__}() got unexpected fields: {', '.join(values)}")
    obj = model(*args)
    for relation, value in related:
        relation.set_cached_value(obj, value)
    return obj


_init_plans: dict[type[Model], list] = {}


def rows_insert(objs: Sequence[Model]) -> None:
    """Insert model instances of one model (call inside a transaction); sets their pk.

    For instances built in code with their defaults: no ``pre_save`` hooks
    (``auto_now``), no signals — as ``bulk_create``.
    """
    if not objs:
        return
    # The connection itself, not django.db.connection: that proxy is a context-local
    # lookup on every attribute access, i.e. for every field of every row.
    connection = connections[DEFAULT_DB_ALIAS]
    sql, fields = _statement(type(objs[0]), connection)
    with connection.cursor() as cursor:
        for obj in objs:
            cursor.execute(sql, [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields])
            obj.pk = cursor.fetchone()[0]
            obj._state.adding = False
            obj._state.db = DEFAULT_DB_ALIAS


def rows_insert_sqlite(cursor, objs: Sequence[Model]) -> None:
    """:func:`rows_insert` through a plain ``sqlite3`` cursor (pipelines/loop_sqlite.py).

    Values are stored as the ORM stores them on SQLite (:func:`sqlite_adapters`; a test
    compares the two for every field of the rows written here).
    """
    if not objs:
        return
    model = type(objs[0])
    plan = _sqlite_plans.get(model)
    if plan is None:
        # Looked up once: on the event loop every task has a context of its own, so
        # ``connections[...]`` would build a new connection object for each trigger.
        connection = connections[DEFAULT_DB_ALIAS]
        plan = _sqlite_plans[model] = (_statement(model, connection, "?")[0], sqlite_adapters(model, connection))
    sql, adapters = plan
    for obj in objs:
        values = obj.__dict__
        cursor.execute(sql, [adapt(values[attname]) for attname, adapt in adapters])
        obj.pk = cursor.lastrowid
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS


def sqlite_datetime_adapter(connection, generic: Callable[[Any], Any]) -> Callable[[Any], Any] | None:
    """Aware datetimes as the ORM stores them on SQLite with ``USE_TZ`` (naive UTC text)
    without its generic layers; anything else through ``generic``. None when the
    connection's time zone is not UTC."""
    if connection.timezone != UTC:
        return None

    def adapt(value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return str(value.astimezone(UTC).replace(tzinfo=None))
        return generic(value)

    return adapt


_adapters: dict[type[Model], list] = {}
_sqlite_plans: dict[type[Model], tuple[str, list]] = {}


def sqlite_adapters(model: type[Model], connection) -> list[tuple[str, Callable[[Any], Any]]]:
    """Per column of :func:`_statement`: ``(attname, value → SQLite value)``.

    ``Field.get_db_prep_save`` goes through several generic layers per value (a fifth
    of a small trigger's recording, profiled); for the field types of the run history
    these are the same conversions, done directly: UUIDs as hex, aware datetimes as
    naive UTC text, JSON through the field's encoder. Any other type or value takes
    ``get_db_prep_save`` itself.
    """
    found = _adapters.get(model)
    if found is None:
        _, fields = _statement(model, connection, "?")
        found = _adapters[model] = [(f.attname, _adapter(f, connection)) for f in fields]
    return found


def _adapter(field, connection) -> Callable[[Any], Any]:
    def generic(value):
        return field.get_db_prep_save(value, connection)

    if isinstance(field, models.JSONField):
        # json.dumps(value, cls=encoder), as the field does, without a new encoder per value
        encode = (field.encoder or json.JSONEncoder)().encode

        def adapt(value):
            return None if value is None else encode(value)

    elif (
        isinstance(field, models.DateTimeField) and (aware := sqlite_datetime_adapter(connection, generic)) is not None
    ):

        def adapt(value):
            return None if value is None else aware(value)

    elif isinstance(field, models.UUIDField):

        def adapt(value):
            return value.hex if isinstance(value, uuid.UUID) else generic(value)

    elif isinstance(field, (models.ForeignKey, models.IntegerField, models.BooleanField)):

        def adapt(value):
            return value if value is None or type(value) in (int, bool) else generic(value)

    elif isinstance(field, (models.CharField, models.TextField)):

        def adapt(value):
            return value if type(value) is str or value is None else generic(value)

    else:
        adapt = generic
    return adapt
