"""The ``sql`` component against real servers started by the tests (tests/servers.py):
PostgreSQL, MariaDB (MySQL's dialect and driver) and SQLite.

Instill's documented examples are its component tests' cases (pipeline-backend
pkg/component/data/sql/v0/component_test.go: a ``users`` table with ``id`` and
``name``, the filters ``id = 1 AND name = 'John Doe'`` and their status strings),
run here against real databases rather than a mock. A second set sends SQL injection
through every input and checks the database afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from pipelines.components import default_registry
from pipelines.components.sql import COMPONENT, MAX_ROWS
from pipelines.engine import execute, parse_recipe
from pipelines.engine.components import ComponentError, TaskContext
from pipelines.engine.connections import packed
from pipelines.engine.values import to_json
from tests.servers import Database

ALLOW = {"http_allowed_hosts": ["127.0.0.1"]}


@pytest.fixture(params=["PostgreSQL", "MariaDB", "SQLite"])
def database(request, tmp_path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(setup, config) of one engine, with an empty ``users`` table and a ``canary``
    table holding one row that no test touches on purpose."""
    if request.param == "SQLite":
        setup: dict[str, Any] = {"engine": "SQLite", "database-name": "tests.db"}
        config: dict[str, Any] = {"sqlite_dir": str(tmp_path)}
    else:
        server: Database = request.getfixturevalue(
            "postgres_server" if request.param == "PostgreSQL" else "mariadb_server"
        )
        setup, config = server.setup(), dict(ALLOW)
    for table in ("users", "canary"):
        try:
            sql("TASK_DROP_TABLE", {"table-name": table}, setup, config)
        except ComponentError:
            pass
    sql(
        "TASK_CREATE_TABLE",
        {"table-name": "users", "columns-structure": {"id": "INT", "name": "VARCHAR(255)"}},
        setup,
        config,
    )
    sql("TASK_CREATE_TABLE", {"table-name": "canary", "columns-structure": {"word": "VARCHAR(20)"}}, setup, config)
    sql("TASK_INSERT", {"table-name": "canary", "data": {"word": "alive"}}, setup, config)
    return setup, config


def sql(task: str, input: dict[str, Any], setup: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Run a task as a task process does: a plain call, with no event loop running."""
    return COMPONENT.tasks[task].run(input, TaskContext("sql-0", task, setup, config))  # type: ignore[return-value]


async def asql(task: str, input: dict[str, Any], setup: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(sql, task, input, setup, config)


def rows(db, **select: Any) -> list[dict[str, Any]]:
    """The selected rows of ``users``, by id (a select without ORDER BY has no order)."""
    setup, config = db
    found = sql("TASK_SELECT", {"table-name": "users", **select}, setup, config)["rows"]
    return sorted(found, key=lambda row: (row.get("id") is None, row.get("id") or 0))


def canary_alive(db) -> bool:
    setup, config = db
    return sql("TASK_SELECT", {"table-name": "canary"}, setup, config)["rows"] == [{"word": "alive"}]


# --- Instill's examples ---------------------------------------------------------------


def test_every_task_as_instill_documents_it(database):
    setup, config = database
    assert sql("TASK_INSERT", {"table-name": "users", "data": {"id": "1", "name": "John Doe"}}, setup, config) == {
        "status": "Successfully inserted 1 row"
    }
    many = {"table-name": "users", "array-data": [{"id": "2", "name": "Jane Doe"}, {"id": 3, "name": "john"}]}
    assert sql("TASK_INSERT_MANY", many, setup, config) == {"status": "Successfully inserted 2 rows"}
    update = {
        "table-name": "users",
        "filter": "id = 1 AND name = 'John Doe'",
        "update-data": {"name": "John Doe Updated"},
    }
    assert sql("TASK_UPDATE", update, setup, config) == {"status": "Successfully updated 1 rows"}
    selected = sql("TASK_SELECT", {"table-name": "users", "filter": "id = 1", "limit": 0}, setup, config)
    assert selected == {"rows": [{"id": 1, "name": "John Doe Updated"}], "status": "Successfully selected 1 rows"}
    assert sql("TASK_DELETE", {"table-name": "users", "filter": "id = 3 AND name = 'john'"}, setup, config) == {
        "status": "Successfully deleted 1 rows"
    }
    assert [r["id"] for r in rows(database)] == [1, 2]
    assert sql("TASK_DROP_TABLE", {"table-name": "users"}, setup, config) == {"status": "Successfully dropped 1 table"}
    with pytest.raises(ComponentError, match="selecting from users failed"):
        rows(database)


def test_select_columns_limit_and_filters(database):
    setup, config = database
    people = [{"id": i, "name": name} for i, name in enumerate(["ann", "bob", "cid", "dee", None], start=1)]
    sql("TASK_INSERT_MANY", {"table-name": "users", "array-data": people}, setup, config)
    assert rows(database, columns=["name"], filter="id <= 2") == [{"name": "ann"}, {"name": "bob"}]
    assert len(rows(database, limit=3)) == 3
    for condition, ids in {
        "WHERE id IN (1, 3)": [1, 3],
        "id NOT IN (1, 2, 3)": [4, 5],
        "name LIKE 'b%' OR name = 'dee'": [2, 4],
        "id BETWEEN 2 AND 3": [2, 3],
        "name IS NULL": [5],
        "NOT (id > 1) ": [1],
        "upper(name) = 'CID'": [3],
        "id * 2 - 1 = 5 AND (name <> 'x' OR id = -1)": [3],
        "coalesce(name, 'nobody') = 'nobody'": [5],
    }.items():
        assert [r["id"] for r in rows(database, filter=condition)] == ids, condition


def test_values_keep_their_types_and_json_is_stored_as_text(database):
    setup, config = database
    sql(
        "TASK_CREATE_TABLE",
        {
            "table-name": "things",
            "columns-structure": {
                "id": "INTEGER PRIMARY KEY",
                "price": "DECIMAL(10, 2) NOT NULL DEFAULT 0",
                "label": "VARCHAR(40) DEFAULT 'none'",
                "day": "DATE",
                "doc": "TEXT",
            },
        },
        setup,
        config,
    )
    try:
        row = {"id": 1, "price": 12.5, "day": "2024-01-02", "doc": {"a": [1, "two"]}}
        sql("TASK_INSERT", {"table-name": "things", "data": row}, setup, config)
        (found,) = sql("TASK_SELECT", {"table-name": "things"}, setup, config)["rows"]
        assert found["price"] == 12.5 and found["label"] == "none" and found["day"] == "2024-01-02"
        assert found["doc"] in ('{"a": [1, "two"]}',)
    finally:
        sql("TASK_DROP_TABLE", {"table-name": "things"}, setup, config)


# --- SQL injection through every input ------------------------------------------------

EVIL = [
    "x'; DROP TABLE canary; --",
    'x"; DROP TABLE canary; --',
    "x`; DROP TABLE canary; --",
    "x\\'; DROP TABLE canary; --",
    "x) ; DELETE FROM canary; --",
]


def test_injected_values_are_stored_as_they_are(database):
    setup, config = database
    for n, evil in enumerate(EVIL):
        sql("TASK_INSERT", {"table-name": "users", "data": {"id": 3 * n, "name": evil}}, setup, config)
        many = [{"id": 3 * n + 1, "name": evil}, {"id": 3 * n + 2, "name": evil}]
        sql("TASK_INSERT_MANY", {"table-name": "users", "array-data": many}, setup, config)
        update = {"table-name": "users", "filter": f"id = {3 * n + 2}", "update-data": {"name": evil + "!"}}
        sql("TASK_UPDATE", update, setup, config)
    assert [r["name"] for r in rows(database)] == [name for evil in EVIL for name in (evil, evil, evil + "!")]
    assert canary_alive(database)


def test_injected_names_are_names_never_sql(database):
    """A table or column name that carries SQL is one (strange, quoted) name: the
    statement fails to find it, or makes it, and never runs the SQL."""
    setup, config = database
    for evil in EVIL:
        attempts = [
            ("TASK_INSERT", {"table-name": evil, "data": {"id": 1}}),
            ("TASK_INSERT", {"table-name": "users", "data": {evil: 1}}),
            ("TASK_INSERT_MANY", {"table-name": "users", "array-data": [{evil: 1}]}),
            ("TASK_UPDATE", {"table-name": "users", "filter": "id = 1", "update-data": {evil: 1}}),
            ("TASK_UPDATE", {"table-name": evil, "filter": "id = 1", "update-data": {"id": 1}}),
            ("TASK_SELECT", {"table-name": evil}),
            ("TASK_SELECT", {"table-name": "users", "columns": [evil]}),
            ("TASK_DELETE", {"table-name": evil, "filter": "id = 1"}),
            ("TASK_DROP_TABLE", {"table-name": evil}),
            ("TASK_CREATE_TABLE", {"table-name": "t2", "columns-structure": {evil: "INT"}}),
            ("TASK_SELECT", {"table-name": "t2", "columns": [evil]}),
        ]
        for task, input in attempts:
            try:
                sql(task, input, setup, config)
            except ComponentError as exc:
                assert "failed in" in str(exc), str(exc)
        sql("TASK_DROP_TABLE", {"table-name": "t2"}, setup, config)
    assert canary_alive(database)
    assert rows(database) == []


CONDITIONS = [
    "1 = 1; DROP TABLE canary",
    "id = 1 -- comment",
    "id = 1 /* x */",
    "id = 1 # x",
    "id = (SELECT 1)",
    "id IN (SELECT word FROM canary)",
    "1 = 1 UNION SELECT word FROM canary",
    "sleep(5) = 0",
    "pg_sleep(5) IS NULL",
    "id = 1 OR load_file('/etc/passwd') IS NULL",
    "canary.word = 'alive'",
    "id = '1' '",
    "id = 1)",
]


def test_a_filter_is_a_condition_and_nothing_more(database):
    setup, config = database
    sql("TASK_INSERT", {"table-name": "users", "data": {"id": 1, "name": "a"}}, setup, config)
    for condition in CONDITIONS:
        for task, input in (
            ("TASK_SELECT", {"table-name": "users", "filter": condition}),
            ("TASK_UPDATE", {"table-name": "users", "filter": condition, "update-data": {"name": "b"}}),
            ("TASK_DELETE", {"table-name": "users", "filter": condition}),
        ):
            with pytest.raises(ComponentError, match=r"^filter: .* at position \d+"):
                sql(task, input, setup, config)
    assert rows(database) == [{"id": 1, "name": "a"}] and canary_alive(database)


def test_a_string_in_a_filter_is_a_value(database):
    setup, config = database
    evil = "' OR '1'='1"
    sql("TASK_INSERT", {"table-name": "users", "data": {"id": 1, "name": evil}}, setup, config)
    sql("TASK_INSERT", {"table-name": "users", "data": {"id": 2, "name": "b"}}, setup, config)
    quoted = "'" + evil.replace("'", "''") + "'"
    assert [r["id"] for r in rows(database, filter=f"name = {quoted}")] == [1]
    assert sql("TASK_DELETE", {"table-name": "users", "filter": f"name = {quoted}"}, setup, config) == {
        "status": "Successfully deleted 1 rows"
    }
    assert [r["id"] for r in rows(database)] == [2]


SPECS = [
    "INT); DROP TABLE canary; --",
    "INT, x INT",
    "INT CHECK (1 = 1)",
    "INT DEFAULT (SELECT 1)",
    "VARCHAR(10) DEFAULT 'a'); DROP TABLE canary; --",
    "INT -- x",
    "INT REFERENCES canary(word)",
]


def test_column_types_are_types(database):
    setup, config = database
    for spec in SPECS:
        with pytest.raises(ComponentError, match=r"^columns-structure\.c: "):
            sql("TASK_CREATE_TABLE", {"table-name": "t3", "columns-structure": {"c": spec}}, setup, config)
    assert canary_alive(database)


def test_a_quote_in_a_default_is_the_default(database):
    setup, config = database
    spec = {"id": "INT", "note": "VARCHAR(60) DEFAULT 'it''s \\'' x'"}
    sql("TASK_CREATE_TABLE", {"table-name": "t4", "columns-structure": spec}, setup, config)
    try:
        sql("TASK_INSERT", {"table-name": "t4", "data": {"id": 1}}, setup, config)
        (row,) = sql("TASK_SELECT", {"table-name": "t4"}, setup, config)["rows"]
        assert row["note"] == "it's \\' x"
    finally:
        sql("TASK_DROP_TABLE", {"table-name": "t4"}, setup, config)
    assert canary_alive(database)


# --- errors ---------------------------------------------------------------------------


def test_bad_inputs_fail_with_the_field_named(database):
    setup, config = database
    cases = [
        ("TASK_INSERT", {"table-name": "users", "data": {}}, "data must be a non-empty object"),
        ("TASK_INSERT", {"table-name": "", "data": {"id": 1}}, "table-name must be a non-empty name"),
        ("TASK_INSERT", {"table-name": "users", "data": {"id\x00": 1}}, "control characters"),
        ("TASK_INSERT_MANY", {"table-name": "users", "array-data": [{"id": 1}, {"name": "x"}]}, r"array-data\[1\]"),
        ("TASK_SELECT", {"table-name": "users", "limit": -1}, "limit must be"),
        ("TASK_SELECT", {"table-name": "users", "filter": "id ="}, "filter: the condition ends too early"),
        (
            "TASK_SELECT",
            {"table-name": "users", "filter": "nope(id) = 1"},
            r"filter: the function nope\(\) is not allowed",
        ),
        ("TASK_SELECT", {"table-name": "users", "columns": ["nope"]}, "selecting from users failed in"),
        ("TASK_INSERT", {"table-name": "users", "data": {"nope": 1}}, "inserting into users failed in"),
    ]
    for task, input, message in cases:
        with pytest.raises(ComponentError, match=message):
            sql(task, input, setup, config)


def test_a_select_without_a_limit_stops_at_the_row_cap(database, monkeypatch):
    setup, config = database
    monkeypatch.setattr("pipelines.components.sql.MAX_ROWS", 3)
    sql("TASK_INSERT_MANY", {"table-name": "users", "array-data": [{"id": i} for i in range(5)]}, setup, config)
    with pytest.raises(ComponentError, match="limit: the select finds more than 3 rows"):
        rows(database)
    assert len(rows(database, limit=4)) == 4
    assert MAX_ROWS == 10_000


def test_a_select_stops_at_the_size_cap_whatever_its_limit(database, monkeypatch):
    """The rows are held in memory: past MAX_SELECT_CHARS a select is an error naming
    limit, however many rows its limit allows."""
    setup, config = database
    monkeypatch.setattr("pipelines.components.sql.MAX_SELECT_CHARS", 3000)
    data = [{"id": i, "name": "x" * 200} for i in range(20)]
    sql("TASK_INSERT_MANY", {"table-name": "users", "array-data": data}, setup, config)
    with pytest.raises(ComponentError, match=r"limit: the first \d+ rows selected add up to more than"):
        rows(database, limit=1000)
    assert len(rows(database, limit=5)) == 5


def test_a_wrong_password_or_port_is_a_setup_error_without_the_password(mariadb_server, postgres_server):
    for server in (mariadb_server, postgres_server):
        closed = server.setup(port=1)
        with pytest.raises(ComponentError, match=r"^setup: could not connect to the \w+ database") as caught:
            sql("TASK_SELECT", {"table-name": "users"}, closed, ALLOW)
        assert server.password not in str(caught.value)
    wrong = mariadb_server.setup(password="not-the-password")
    with pytest.raises(ComponentError, match="Access denied") as caught:
        sql("TASK_SELECT", {"table-name": "users"}, wrong, ALLOW)
    assert "not-the-password" not in str(caught.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "[::1]", "169.254.169.254"])
def test_the_outbound_guard_refuses_internal_hosts_unless_allowed(postgres_server, host):
    setup = postgres_server.setup(host=host)
    with pytest.raises(ComponentError, match=r"^setup\.host: request to .* refused.*PIPELINE_HTTP_ALLOWED_HOSTS"):
        sql("TASK_SELECT", {"table-name": "users"}, setup, {})


def test_the_allow_list_can_name_the_port_only(postgres_server):
    setup = postgres_server.setup()
    other_port = {"http_allowed_hosts": [f"127.0.0.1:{postgres_server.port + 1}"]}
    with pytest.raises(ComponentError, match="refused"):
        sql("TASK_SELECT", {"table-name": "canary"}, setup, other_port)
    this_port = {"http_allowed_hosts": [f"127.0.0.1:{postgres_server.port}"]}
    sql("TASK_CREATE_TABLE", {"table-name": "guarded", "columns-structure": {"a": "INT"}}, setup, this_port)
    sql("TASK_DROP_TABLE", {"table-name": "guarded"}, setup, this_port)


def test_engines_this_server_does_not_reach_are_refused_by_name():
    for engine in ("SQL Server", "Oracle", "Firebird"):
        with pytest.raises(ComponentError, match=f"setup.engine {engine} is not supported by this server"):
            sql("TASK_SELECT", {"table-name": "t"}, {"engine": engine, "database-name": "d"}, ALLOW)
    with pytest.raises(ComponentError, match=r"setup\.engine must be one of"):
        sql("TASK_SELECT", {"table-name": "t"}, {"engine": "DB2", "database-name": "d"}, ALLOW)


def test_sqlite_stays_in_its_directory(tmp_path):
    with pytest.raises(ComponentError, match="PIPELINE_SQL_SQLITE_DIR"):
        sql("TASK_SELECT", {"table-name": "t"}, {"engine": "SQLite", "database-name": "x.db"}, {})
    for name in ("../x.db", "/etc/passwd", "a/b.db", ".hidden", "x..db"):
        with pytest.raises(ComponentError, match=r"setup\.database-name"):
            sql(
                "TASK_SELECT",
                {"table-name": "t"},
                {"engine": "SQLite", "database-name": name},
                {"sqlite_dir": str(tmp_path)},
            )
    assert list(tmp_path.iterdir()) == []


def test_an_empty_password_is_not_looked_up_in_the_servers_password_file(postgres_server, tmp_path, monkeypatch):
    """libpq looks an empty password up in the password file (~/.pgpass, PGPASSFILE) of
    the server's user: the server's own database passwords, not the recipe's."""
    import psycopg

    passfile = tmp_path / "pgpass"
    passfile.write_text("*:*:*:*:the-servers-own-password\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    used: list[str | None] = []
    connect = psycopg.connect

    def connect_seeing_the_password(*args: Any, **kwargs: Any) -> Any:
        connection = connect(*args, **kwargs)
        used.append(connection.info.password)
        return connection

    monkeypatch.setattr(psycopg, "connect", connect_seeing_the_password)
    with contextlib.suppress(ComponentError):
        sql("TASK_SELECT", {"table-name": "canary"}, postgres_server.setup(password=""), dict(ALLOW))
    assert used and "the-servers-own-password" not in used


def test_a_long_chain_of_arithmetic_is_refused_naming_the_filter(tmp_path):
    """1-1-1-... nests one level per operator (SQLAlchemy flattens only + and *): past
    the parser's nesting limit it is a clear error, not Python's recursion limit."""
    setup, config = {"engine": "SQLite", "database-name": "t.db"}, {"sqlite_dir": str(tmp_path)}
    sql("TASK_CREATE_TABLE", {"table-name": "t", "columns-structure": {"id": "INT"}}, setup, config)
    for chain in ("-", "/", "%", "+", "*"):
        with pytest.raises(ComponentError, match=r"filter: more than \d+ levels of nesting"):
            sql("TASK_SELECT", {"table-name": "t", "filter": "id = 1" + f"{chain}1" * 3000}, setup, config)
    assert sql("TASK_SELECT", {"table-name": "t", "filter": "id = 1" + "-1" * 20}, setup, config)["rows"] == []


# --- through the engine: ${secret.*} and ${connection.*} ------------------------------

RECIPE = """\
version: v1beta
variable:
  name: {instill-format: string}
component:
  create:
    type: sql
    task: TASK_CREATE_TABLE
    input:
      table-name: recipe_people
      columns-structure: {id: INT, name: VARCHAR(255)}
    setup: SETUP
  insert:
    type: sql
    task: TASK_INSERT
    condition: ${create.output.status} != ""
    input:
      table-name: recipe_people
      data: {id: 1, name: "${variable.name}"}
    setup: SETUP
  select:
    type: sql
    task: TASK_SELECT
    condition: ${insert.output.status} != ""
    input:
      table-name: recipe_people
      filter: "name = 'Ada'"
    setup: SETUP
  drop:
    type: sql
    task: TASK_DROP_TABLE
    condition: ${select.output.status} != ""
    input:
      table-name: recipe_people
    setup: SETUP
# (each condition reads the previous component's output, so they run in this order)
output:
  inserted: {value: "${insert.output.status}"}
  rows: {value: "${select.output.rows}"}
  dropped: {value: "${drop.output.status}"}
"""
SECRET_SETUP = """
      engine: PostgreSQL
      username: ${secret.db-user}
      password: ${secret.db-password}
      database-name: pipeline
      host: 127.0.0.1
      port: PORT
      ssl-tls: {ssl-tls-type: NO TLS}"""


async def run_recipe(text: str, secrets: dict[str, str], config: dict[str, Any]):
    recipe = parse_recipe(text, registry=default_registry())
    events: list[Any] = []
    result = await execute(
        recipe, recipe.bind_rows([{"name": "Ada"}]), config=config, secrets=secrets, on_event=events.append
    )
    return result, events


def expected_outputs() -> dict[str, Any]:
    return {
        "inserted": "Successfully inserted 1 row",
        "rows": [{"id": 1, "name": "Ada"}],
        "dropped": "Successfully dropped 1 table",
    }


async def test_a_recipe_with_secret_setup_runs_and_masks_the_password(postgres_server):
    text = RECIPE.replace(" SETUP", SECRET_SETUP.replace("PORT", str(postgres_server.port)))
    secrets = {"db-user": postgres_server.username, "db-password": postgres_server.password}
    result, events = await run_recipe(text, secrets, ALLOW)
    row = result.rows[0]
    assert not row.errored, row.components
    assert to_json(row.outputs) == expected_outputs()
    assert postgres_server.password not in str(result) + str([e.payload() for e in events])


async def test_a_recipe_with_a_connection_setup_runs(mariadb_server):
    text = RECIPE.replace("SETUP", "${connection.shop-db}")
    setup = mariadb_server.setup()
    result, events = await run_recipe(text, packed("shop-db", setup, [mariadb_server.password]), ALLOW)
    row = result.rows[0]
    assert not row.errored, row.components
    assert to_json(row.outputs) == expected_outputs()
    assert mariadb_server.password not in str(result) + str([e.payload() for e in events])


async def test_a_failing_statement_fails_the_run_with_its_message_and_no_password(postgres_server):
    text = RECIPE.replace(" SETUP", SECRET_SETUP.replace("PORT", str(postgres_server.port))).replace(
        "filter: \"name = 'Ada'\"", "filter: \"name = 'Ada' AND nope = 1\""
    )
    secrets = {"db-user": postgres_server.username, "db-password": postgres_server.password}
    result, events = await run_recipe(text, secrets, ALLOW)
    trace = result.rows[0].components["select"]
    assert trace.status == "ERROR"
    assert "selecting from recipe_people failed in the PostgreSQL database" in trace.error
    assert 'column "nope" does not exist' in trace.error
    assert postgres_server.password not in str(result) + str([e.payload() for e in events])
    await asql("TASK_DROP_TABLE", {"table-name": "recipe_people"}, postgres_server.setup(), ALLOW)


def test_a_plaintext_password_in_a_recipe_is_refused():
    text = RECIPE.replace(" SETUP", SECRET_SETUP.replace("${secret.db-password}", "hunter2").replace("PORT", "5432"))
    with pytest.raises(Exception, match="password"):
        parse_recipe(text, registry=default_registry())


# --- TLS: the checked address, the host's name verified -------------------------------


@pytest.mark.parametrize("server_name", ["postgres_server", "mariadb_server"])
def test_tls_verifies_the_servers_name_while_connecting_to_the_checked_address(request, server_name):
    """``localhost`` resolves to 127.0.0.1, which the driver connects to; the server's
    certificate (issued to localhost by the test CA) is checked against ``localhost``."""
    server = request.getfixturevalue(server_name)
    tls = server.tls
    allowed = {"http_allowed_hosts": ["localhost"]}
    setup = server.setup(host="localhost", **{"ssl-tls": {"ssl-tls-type": "TLS", "ssl-tls-ca": tls.b64(tls.ca)}})
    sql("TASK_CREATE_TABLE", {"table-name": "tls_check", "columns-structure": {"a": "INT"}}, setup, allowed)
    mtls = {
        "ssl-tls-type": "mTLS",
        "ssl-tls-ca": tls.b64(tls.ca),
        "ssl-tls-cert": tls.b64(tls.client_cert),
        "ssl-tls-key": tls.b64(tls.client_key),
    }
    sql("TASK_DROP_TABLE", {"table-name": "tls_check"}, server.setup(host="localhost", **{"ssl-tls": mtls}), allowed)

    other_ca = tls_material_for_another_ca()
    wrong = server.setup(host="localhost", **{"ssl-tls": {"ssl-tls-type": "TLS", "ssl-tls-ca": other_ca}})
    with pytest.raises(ComponentError, match=r"^setup: could not connect to .*(certificate|SSL)"):
        sql("TASK_SELECT", {"table-name": "canary"}, wrong, allowed)
    bad = server.setup(**{"ssl-tls": {"ssl-tls-type": "TLS", "ssl-tls-ca": "not base64!"}})
    with pytest.raises(ComponentError, match=r"setup\.ssl-tls\.ssl-tls-ca must be base64"):
        sql("TASK_SELECT", {"table-name": "canary"}, bad, ALLOW)
    with pytest.raises(ComponentError, match=r"setup\.ssl-tls\.ssl-tls-cert is required"):
        sql("TASK_SELECT", {"table-name": "canary"}, server.setup(**{"ssl-tls": {**mtls, "ssl-tls-cert": ""}}), ALLOW)


def tls_material_for_another_ca() -> str:
    """A CA certificate that signed nothing the servers use."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tests.servers import TLSMaterial, _certificate

    key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("another CA", key, None, key, ca=True)
    return TLSMaterial.b64(ca.public_bytes(serialization.Encoding.PEM))
