"""The ``sql`` data component: read and write tables of a SQL database (Instill ``sql``
v0: ``TASK_INSERT``, ``TASK_INSERT_MANY``, ``TASK_UPDATE``, ``TASK_SELECT``,
``TASK_DELETE``, ``TASK_CREATE_TABLE``, ``TASK_DROP_TABLE``; setup ``engine``,
``username``, ``password``, ``database-name``, ``host``, ``port``, ``ssl-tls``).

Engines: PostgreSQL (psycopg), MySQL and MariaDB (PyMySQL, pure Python, so nothing to
build), and SQLite as an extra for local use, confined to the directory the server
names (``sqlite_dir``, from ``PIPELINE_SQL_SQLITE_DIR``; refused without one). Instill's
other engines (SQL Server, Oracle, Firebird) are refused with a message saying so.

Statements are built with SQLAlchemy Core: table and column names are identifiers
(quoted by the dialect when they are not plain names), every value is a bound
parameter, and the SQL text Instill's inputs take (``filter``, the column types of
``columns-structure``) is parsed and rebuilt by :mod:`~pipelines.components._sql_text`,
never pasted. The status strings are Instill's ("Successfully inserted 1 row").

The host is resolved and checked by the outbound guard (:func:`~pipelines.components.
outbound.resolve_checked`: loopback and private addresses only when
``PIPELINE_HTTP_ALLOWED_HOSTS`` allows them) and the driver connects to the checked
address — PostgreSQL through libpq's ``hostaddr``, MySQL over a socket we open — while
TLS still verifies the host's name. The tasks are ``blocking``: they run in the task
processes, where a run's cancellation or time limit kills a slow query's process.
SQLAlchemy and the drivers are imported on a task's first call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime
import decimal
import json
import math
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.components._sql_text import column_type, identifier, parse_filter, plain_name
from pipelines.components.db_connect import TaskRow, checked_address, setup_host, setup_port, shown, task_map
from pipelines.engine.components import ComponentDefinition, ComponentError, TaskContext

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql.expression import TableClause

ENGINES = ("MySQL", "PostgreSQL", "SQL Server", "Oracle", "MariaDB", "Firebird", "SQLite")
SUPPORTED = ("PostgreSQL", "MySQL", "MariaDB", "SQLite")
DEFAULT_PORTS = {"PostgreSQL": 5432, "MySQL": 3306, "MariaDB": 3306}
CONNECT_TIMEOUT = 10
#: A select without a limit returns at most this many rows (more is an error naming ``limit``).
MAX_ROWS = 10_000
#: The most a select's rows may add up to (as JSON, in characters), whatever its limit:
#: the rows are held in memory and answered whole. The rows are read from a server-side
#: cursor, so a larger result stops here rather than arriving whole first.
MAX_SELECT_CHARS = 64 * 1024 * 1024
_SQLITE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")

# --- schemas (Instill's config/setup.yaml and config/tasks.yaml) ------------------------


def _tls_variant(title: str, kind: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ssl-tls-type": {
            "type": "string",
            "const": kind,
            "title": "SSL / TLS Type",
            "description": "Choose the type of SSL / TLS.",
        },
        **extra,
    }
    return {"title": title, "properties": properties, "required": list(properties)}


def _pem(title: str, what: str) -> dict[str, Any]:
    return {"type": "string", "title": title, "description": f"Base64 encoded {what} file."}


_CA = {"ssl-tls-ca": _pem("CA Certificate", "CA certificate")}
SETUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "SQL Connection",
    "additionalProperties": False,
    "properties": {
        "engine": {
            "type": "string",
            "title": "Engine",
            "description": "Choose the engine of your database: PostgreSQL, MySQL or MariaDB (SQL Server, Oracle and Firebird are not reached from this server), or SQLite, a file in the server's SQLite directory.",
            "enum": list(ENGINES),
        },
        "username": {"type": "string", "title": "Username", "description": "Fill in your account username."},
        "password": {"type": "string", "title": "Password", "description": "Fill in your account password."},
        "database-name": {
            "type": "string",
            "title": "Database Name",
            "description": "Fill in the name of your database.",
        },
        "host": {"type": "string", "title": "Host", "description": "Fill in the host of your database."},
        "port": {
            "type": "number",
            "title": "Port",
            "description": "Fill in the port of your database.",
            "default": 3306,
        },
        "ssl-tls": {
            "type": "object",
            "title": "SSL / TLS",
            "description": "Enable SSL / TLS.",
            "oneOf": [
                _tls_variant("No SSL / TLS", "NO TLS", {}),
                _tls_variant("TLS", "TLS", _CA),
                _tls_variant(
                    "mTLS",
                    "mTLS",
                    {
                        **_CA,
                        "ssl-tls-cert": _pem("Client Certificate", "client certificate"),
                        "ssl-tls-key": _pem("Client Key", "client key"),
                    },
                ),
            ],
        },
    },
    # Instill requires every field; here host, port, username, password and ssl-tls are
    # checked when the engine needs them (SQLite needs none; ssl-tls defaults to NO TLS).
    "required": ["engine", "database-name"],
}

_TABLE = {"type": "string", "title": "Table Name", "description": "The table name in the database to {}."}


def _table(what: str) -> dict[str, Any]:
    return {**_TABLE, "description": str(_TABLE["description"]).format(what)}


def _filter(description: str) -> dict[str, Any]:
    return {"type": "string", "title": "Filter", "description": description}


def _status(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Output",
        "properties": {"status": {"type": "string", "title": "Status", "description": description}},
        "required": ["status"],
    }


def _input(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "title": "Input", "properties": dict(properties), "required": required}


_FILTER_WHERE = "The filter to be applied to the data with SQL syntax, which starts with WHERE clause."
INSERT_INPUT = _input(
    {
        "table-name": _table("insert data into"),
        "data": {"type": "object", "title": "Data", "description": "The data to be inserted."},
    },
    ["data", "table-name"],
)
INSERT_MANY_INPUT = _input(
    {
        "table-name": _table("insert data into"),
        "array-data": {
            "type": "array",
            "title": "Data",
            "description": "The array data to be inserted.",
            "items": {"type": "object", "title": "Data", "description": "The data to be inserted."},
            "minItems": 1,
        },
    },
    ["array-data", "table-name"],
)
UPDATE_INPUT = _input(
    {
        "table-name": _table("update data into"),
        "filter": _filter(_FILTER_WHERE),
        "update-data": {"type": "object", "title": "Update", "description": "The new data to be updated to."},
    },
    ["filter", "update-data", "table-name"],
)
SELECT_INPUT = _input(
    {
        "table-name": _table("be selected"),
        "filter": _filter(
            "The filter to be applied to the data with SQL syntax, which starts with WHERE clause, empty for all rows."
        ),
        "limit": {
            "type": "integer",
            "title": "Limit",
            "description": "The limit of rows to be selected, empty for all rows.",
        },
        "columns": {
            "type": "array",
            "title": "Columns",
            "description": "The columns to return in the rows. If empty then all columns will be returned.",
            "items": {"type": "string", "title": "Column"},
        },
    },
    ["table-name"],
)
SELECT_OUTPUT = {
    "type": "object",
    "title": "Output",
    "description": "Output.",
    "properties": {
        "rows": {
            "type": "array",
            "title": "Rows",
            "description": "The rows returned from the select operation.",
            "items": {"type": "object", "title": "Row"},
        },
        "status": {"type": "string", "title": "Status", "description": "Select status."},
    },
    "required": ["status", "rows"],
}
DELETE_INPUT = _input({"table-name": _table("be deleted"), "filter": _filter(_FILTER_WHERE)}, ["filter", "table-name"])
CREATE_TABLE_INPUT = _input(
    {
        "table-name": _table("be created"),
        "columns-structure": {
            "type": "object",
            "title": "Columns",
            "description": 'The columns structure to be created in the table, json with value string, e.g {"name": "VARCHAR(255)", "age": "INT not null"}.',
            "additionalProperties": {"type": "string"},
        },
    },
    ["table-name", "columns-structure"],
)
DROP_TABLE_INPUT = _input({"table-name": _table("be dropped")}, ["table-name"])

# --- the connection -------------------------------------------------------------------


def _text(setup: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    value = setup.get(name)
    if value is None or value == "":
        if required:
            raise ComponentError(f"setup.{name} is required")
        return ""
    if not isinstance(value, str):
        raise ComponentError(f"setup.{name} must be a string")
    return value


def _pem_bytes(tls: Mapping[str, Any], name: str) -> bytes:
    value = tls.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ComponentError(f"setup.ssl-tls.{name} is required for ssl-tls-type {tls.get('ssl-tls-type')}")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ComponentError(f"setup.ssl-tls.{name} must be base64 (the PEM file, base64-encoded)") from None


@dataclass(frozen=True)
class _Target:
    engine: str
    host: str
    address: str  # the checked address the driver connects to
    port: int
    username: str
    password: str
    database: str
    tls: str  # NO TLS, TLS, mTLS
    ca: bytes = b""
    cert: bytes = b""
    key: bytes = b""

    @property
    def where(self) -> str:
        return f"the {self.engine} database {self.database!r} at {shown(self.host, self.port)}"


def _engine_name(setup: Mapping[str, Any]) -> str:
    engine = setup.get("engine")
    if engine not in ENGINES:
        raise ComponentError(f"setup.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine not in SUPPORTED:
        raise ComponentError(
            f"setup.engine {engine} is not supported by this server: it reaches {', '.join(SUPPORTED)}"
        )
    return str(engine)


def _target(setup: Mapping[str, Any], config: Mapping[str, Any], engine: str) -> _Target:
    host = setup_host(setup)
    port = setup_port(setup, DEFAULT_PORTS[engine])
    tls_setup = setup.get("ssl-tls") or {"ssl-tls-type": "NO TLS"}
    if not isinstance(tls_setup, Mapping) or tls_setup.get("ssl-tls-type") not in ("NO TLS", "TLS", "mTLS"):
        raise ComponentError("setup.ssl-tls.ssl-tls-type must be NO TLS, TLS or mTLS")
    tls = str(tls_setup["ssl-tls-type"])
    ca = _pem_bytes(tls_setup, "ssl-tls-ca") if tls != "NO TLS" else b""
    cert = _pem_bytes(tls_setup, "ssl-tls-cert") if tls == "mTLS" else b""
    key = _pem_bytes(tls_setup, "ssl-tls-key") if tls == "mTLS" else b""
    # A task process runs no event loop: the guard's check gets one of its own.
    address = asyncio.run(checked_address(host, port, config))
    return _Target(
        engine=engine,
        host=host,
        address=address,
        port=port,
        username=_text(setup, "username"),
        password=_text(setup, "password", required=False),
        database=_text(setup, "database-name"),
        tls=tls,
        ca=ca,
        cert=cert,
        key=key,
    )


@contextlib.contextmanager
def _pem_files(target: _Target) -> Iterator[dict[str, str]]:
    """The TLS material as files (libpq and ssl read files), removed afterwards."""
    paths: dict[str, str] = {}
    try:
        for name, data in (("ca", target.ca), ("cert", target.cert), ("key", target.key)):
            if data:
                fd, path = tempfile.mkstemp(prefix="pipeline-sql-", suffix=".pem")
                with os.fdopen(fd, "wb") as out:  # mkstemp: mode 0600
                    out.write(data)
                paths[name] = path
        yield paths
    finally:
        for path in paths.values():
            with contextlib.suppress(OSError):
                os.unlink(path)


def _postgres_creator(target: _Target, files: Mapping[str, str]) -> Callable[[], Any]:
    try:
        import psycopg
    except ImportError:
        raise ComponentError("the PostgreSQL driver (psycopg) is not installed on this server") from None
    options: dict[str, Any] = {
        # libpq connects to hostaddr (checked) and verifies TLS against host.
        "host": target.host,
        "hostaddr": target.address,
        "port": target.port,
        "user": target.username,
        "password": target.password,
        # Not the password file of the server's user (libpq reads ~/.pgpass or
        # PGPASSFILE for an empty password): the server's own database passwords.
        "passfile": os.devnull,
        "dbname": target.database,
        "connect_timeout": CONNECT_TIMEOUT,
        "application_name": "pipeline-sql",
        "sslmode": "prefer" if target.tls == "NO TLS" else "verify-full",
    }
    if "ca" in files:
        options["sslrootcert"] = files["ca"]
    if "cert" in files:
        options.update(sslcert=files["cert"], sslkey=files["key"])
    return lambda: psycopg.connect(**options)


def _mysql_creator(target: _Target, files: Mapping[str, str]) -> Callable[[], Any]:
    try:
        import pymysql
    except ImportError:
        raise ComponentError("the MySQL driver (PyMySQL) is not installed on this server") from None
    import socket
    import ssl

    context = None
    if target.tls != "NO TLS":
        context = ssl.create_default_context(cafile=files["ca"])
        if "cert" in files:
            context.load_cert_chain(files["cert"], files["key"])

    def connect() -> Any:
        # PyMySQL keeps ``host`` for TLS's name check; the socket goes to the checked address.
        connection = pymysql.connect(
            host=target.host,
            port=target.port,
            user=target.username,
            password=target.password,
            database=target.database,
            connect_timeout=CONNECT_TIMEOUT,
            charset="utf8mb4",
            ssl=context,
            defer_connect=True,
        )
        sock = socket.create_connection((target.address, target.port), timeout=CONNECT_TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            connection.connect(sock)
        except BaseException:
            sock.close()
            raise
        return connection

    return connect


def _sqlite_path(setup: Mapping[str, Any], config: Mapping[str, Any]) -> Path:
    directory = config.get("sqlite_dir")
    if not directory:
        raise ComponentError(
            "setup.engine SQLite is not enabled on this server (PIPELINE_SQL_SQLITE_DIR names the directory "
            "its databases live in)"
        )
    name = _text(setup, "database-name")
    if not _SQLITE_NAME.match(name) or ".." in name:
        raise ComponentError(
            f"setup.database-name: {name!r} is not a SQLite database name (letters, digits, '_', '-', '.'; "
            "a file in the server's SQLite directory)"
        )
    root = Path(str(directory))
    root.mkdir(parents=True, exist_ok=True)
    return root / name


@contextlib.contextmanager
def _connected(ctx: TaskContext) -> Iterator[tuple[Connection, str]]:
    """A connection in a transaction (committed when the block ends without an error)
    and a description of where it goes, for messages."""
    setup = ctx.setup
    engine_name = _engine_name(setup)
    try:
        import sqlalchemy
        from sqlalchemy.pool import NullPool
    except ImportError:
        raise ComponentError("SQLAlchemy is not installed on this server") from None
    engine: Engine
    with contextlib.ExitStack() as stack:
        if engine_name == "SQLite":
            path = _sqlite_path(setup, ctx.config)
            where = f"the SQLite database {path.name!r}"
            engine = sqlalchemy.create_engine("sqlite://", creator=_sqlite_creator(path), poolclass=NullPool)
        else:
            target = _target(setup, ctx.config, engine_name)
            where = target.where
            files = stack.enter_context(_pem_files(target))
            if engine_name == "PostgreSQL":
                url, creator = "postgresql+psycopg://", _postgres_creator(target, files)
            else:
                url, creator = "mysql+pymysql://", _mysql_creator(target, files)
            engine = sqlalchemy.create_engine(url, creator=creator, poolclass=NullPool)
        stack.callback(engine.dispose)
        try:
            connection = stack.enter_context(engine.connect())
        except sqlalchemy.exc.DBAPIError as exc:
            raise ComponentError(f"setup: could not connect to {where}: {_reason(exc)}") from None
        except OSError as exc:  # PyMySQL's socket, opened by us
            raise ComponentError(f"setup: could not connect to {where}: {exc.strerror or exc}") from None
        with connection.begin():
            yield connection, where


def _sqlite_creator(path: Path) -> Callable[[], Any]:
    import sqlite3

    return lambda: sqlite3.connect(path, timeout=CONNECT_TIMEOUT)


def _reason(exc: BaseException) -> str:
    """The database's own message, without SQLAlchemy's statement and parameters."""
    original = getattr(exc, "orig", None) or exc
    if type(original).__module__.startswith("pymysql") and len(original.args) == 2:
        return str(original.args[1])  # (code, message)
    text = str(original).strip()
    return text.splitlines()[0] if text.count("\n") > 3 else text


# --- statements -----------------------------------------------------------------------


class _Names:
    """Tables and columns for one dialect: plain names unquoted (case folded as the
    database does for Instill's statements), reserved words and other names quoted."""

    def __init__(self, connection: Connection) -> None:
        import sqlalchemy

        self.sa = sqlalchemy
        self.dialect = connection.dialect
        self.reserved = self.dialect.identifier_preparer.reserved_words

    def name(self, value: Any, field: str) -> Any:
        from sqlalchemy.sql.elements import quoted_name

        name = identifier(value, field)
        quote = not plain_name(name) or name.lower() in self.reserved
        return quoted_name(name, quote)

    def column(self, value: Any, field: str = "filter") -> Any:
        return self.sa.column(self.name(value, field))

    def table(self, value: Any, columns: list[str] | None = None, field: str = "table-name") -> TableClause:
        if not isinstance(value, str):
            raise ComponentError(f"{field} must be a string")
        schema = None
        name = value.strip()
        if name.count(".") == 1 and all(plain_name(part) for part in name.split(".")):
            schema_part, name = name.split(".")
            schema = self.name(schema_part, field)
        return self.sa.table(
            self.name(name, field), *(self.column(c, f"{field} column") for c in columns or ()), schema=schema
        )

    def bound(self, value: Any, field: str) -> Any:
        from sqlalchemy.types import NullType

        return self.sa.bindparam(None, _to_db(value, field), type_=NullType(), unique=True)

    def filtered(self, statement: Any, text: Any, field: str = "filter") -> Any:
        """``statement`` with the condition ``text`` as its WHERE (none when empty)."""
        if text is None or (isinstance(text, str) and not text.strip()):
            return statement
        if not isinstance(text, str):
            raise ComponentError(f"{field} must be a string")
        condition = parse_filter(
            text, field, lambda name: self.column(name, field), double_quotes_are_strings=self.dialect.name == "mysql"
        )
        return statement.where(condition)


def _to_db(value: Any, field: str) -> Any:
    """A JSON value as the driver takes it: objects and lists as JSON text."""
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ComponentError(f"{field}: {type(value).__name__} values cannot be stored (use a string, number or JSON)")


def _row_value(value: Any) -> Any:
    """A database value as JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return str(value)
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(data).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _row_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_row_value(v) for v in value]
    return str(value)


def _object(input: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = input.get(name)
    if not isinstance(value, Mapping) or not value:
        raise ComponentError(f"{name} must be a non-empty object of column names and values")
    return dict(value)


def _execute(connection: Connection, statement: Any, what: str, where: str) -> Any:
    import sqlalchemy

    try:
        return connection.execute(statement)
    except sqlalchemy.exc.DBAPIError as exc:
        raise ComponentError(f"{what} failed in {where}: {_reason(exc)}") from None


def _run(ctx: TaskContext, work: Callable[[Connection, _Names, str], dict[str, Any]]) -> dict[str, Any]:
    with _connected(ctx) as (connection, where):
        return work(connection, _Names(connection), where)


# --- tasks ----------------------------------------------------------------------------


def run_insert(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    data = _object(input, "data")

    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        table = names.table(input.get("table-name"), list(data), "table-name")
        values = {key: names.bound(value, f"data.{key}") for key, value in data.items()}
        _execute(connection, table.insert().values(values), f"inserting into {table.name}", where)
        return {"status": "Successfully inserted 1 row"}

    return _run(ctx, work)


def run_insert_many(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    rows = input.get("array-data")
    if not isinstance(rows, list) or not rows:
        raise ComponentError("array-data must be a non-empty list of objects")
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping) or not row:
            raise ComponentError(f"array-data[{i}] must be a non-empty object of column names and values")
        if set(row) != set(rows[0]):
            raise ComponentError(f"array-data[{i}] has other columns than array-data[0]: every row needs the same")

    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        table = names.table(input.get("table-name"), list(rows[0]), "table-name")
        values = [
            {key: names.bound(value, f"array-data[{i}].{key}") for key, value in row.items()}
            for i, row in enumerate(rows)
        ]
        result = _execute(connection, table.insert().values(values), f"inserting into {table.name}", where)
        count = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(rows)
        return {"status": f"Successfully inserted {count} rows"}

    return _run(ctx, work)


def run_update(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    data = _object(input, "update-data")
    if not isinstance(input.get("filter", ""), str):
        raise ComponentError("filter must be a string")

    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        table = names.table(input.get("table-name"), list(data), "table-name")
        statement = table.update().values({key: names.bound(v, f"update-data.{key}") for key, v in data.items()})
        statement = names.filtered(statement, input.get("filter"))
        result = _execute(connection, statement, f"updating {table.name}", where)
        return {"status": f"Successfully updated {max(result.rowcount, 0)} rows"}

    return _run(ctx, work)


def run_select(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    limit = input.get("limit") or 0
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ComponentError(f"limit must be a whole number of rows (0 or empty: all), not {limit!r}")
    columns = input.get("columns") or []
    if not isinstance(columns, list):
        raise ComponentError("columns must be a list of column names")

    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        sa = names.sa
        table = names.table(input.get("table-name"))
        chosen = [names.column(c, f"columns[{i}]") for i, c in enumerate(columns)] or [sa.literal_column("*")]
        statement = sa.select(*chosen).select_from(table)
        statement = names.filtered(statement, input.get("filter"))
        statement = statement.limit(limit if limit else MAX_ROWS + 1).execution_options(stream_results=True)
        what = f"selecting from {table.name}"
        result = _execute(connection, statement, what, where)
        keys = list(result.keys())
        rows: list[dict[str, Any]] = []
        size = 0
        try:
            for row in result:
                found = {key: _row_value(value) for key, value in zip(keys, row, strict=True)}
                size += len(json.dumps(found, ensure_ascii=False, default=str))
                if size > MAX_SELECT_CHARS:
                    raise ComponentError(
                        f"limit: the first {len(rows) + 1} rows selected add up to more than "
                        f"{MAX_SELECT_CHARS / (1024 * 1024):g} MB; give a smaller limit or fewer columns"
                    )
                rows.append(found)
        except sa.exc.DBAPIError as exc:
            raise ComponentError(f"{what} failed in {where}: {_reason(exc)}") from None
        if not limit and len(rows) > MAX_ROWS:
            raise ComponentError(f"limit: the select finds more than {MAX_ROWS} rows; give a limit of at most that")
        return {"rows": rows, "status": f"Successfully selected {len(rows)} rows"}

    return _run(ctx, work)


def run_delete(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    if not isinstance(input.get("filter", ""), str):
        raise ComponentError("filter must be a string")

    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        table = names.table(input.get("table-name"))
        statement = table.delete()
        statement = names.filtered(statement, input.get("filter"))
        result = _execute(connection, statement, f"deleting from {table.name}", where)
        return {"status": f"Successfully deleted {max(result.rowcount, 0)} rows"}

    return _run(ctx, work)


def run_create_table(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    structure = _object(input, "columns-structure")

    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        preparer = names.dialect.identifier_preparer
        table = names.table(input.get("table-name"))
        definitions = [
            f"{preparer.quote(names.name(column, f'columns-structure.{column}'))} "
            f"{column_type(spec, f'columns-structure.{column}', names.dialect)}"
            for column, spec in structure.items()
        ]
        statement = names.sa.text(f"CREATE TABLE {preparer.format_table(table)} ({', '.join(definitions)})")
        _execute(connection, statement, f"creating the table {table.name}", where)
        return {"status": "Successfully created 1 table"}

    return _run(ctx, work)


def run_drop_table(input: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
    def work(connection: Connection, names: _Names, where: str) -> dict[str, Any]:
        table = names.table(input.get("table-name"))
        statement = names.sa.text(f"DROP TABLE {names.dialect.identifier_preparer.format_table(table)}")
        _execute(connection, statement, f"dropping the table {table.name}", where)
        return {"status": "Successfully dropped 1 table"}

    return _run(ctx, work)


#: Instill's tasks: name, title, description, run, input schema, output schema.
_TASKS: tuple[TaskRow, ...] = (
    ("TASK_INSERT", "Insert", "Perform insert operation", run_insert, INSERT_INPUT, _status("Insert status.")),
    (
        "TASK_INSERT_MANY",
        "Insert Many",
        "Perform insert operation with multiple rows",
        run_insert_many,
        INSERT_MANY_INPUT,
        _status("Insert many status."),
    ),
    ("TASK_UPDATE", "Update", "Perform update operation", run_update, UPDATE_INPUT, _status("Update status.")),
    ("TASK_SELECT", "Select", "Perform select operation", run_select, SELECT_INPUT, SELECT_OUTPUT),
    ("TASK_DELETE", "Delete", "Perform delete operation", run_delete, DELETE_INPUT, _status("Delete status.")),
    (
        "TASK_CREATE_TABLE",
        "Create Table",
        "Create a table in the database",
        run_create_table,
        CREATE_TABLE_INPUT,
        _status("Create table status."),
    ),
    (
        "TASK_DROP_TABLE",
        "Drop Table",
        "Drop a table in the database",
        run_drop_table,
        DROP_TABLE_INPUT,
        _status("Drop table status."),
    ),
)

COMPONENT = ComponentDefinition(
    type="sql",
    title="SQL",
    kind="data",
    description="Access the SQL database of your choice.",
    setup_schema=SETUP_SCHEMA,
    credential_fields=frozenset({"password", "ssl-tls.ssl-tls-key"}),
    # Database I/O that may hang: in a task process, a run's cancellation or time limit kills it.
    tasks=task_map(_TASKS, blocking=True),
)
