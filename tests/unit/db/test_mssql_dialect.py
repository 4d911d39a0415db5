"""The SQL Server dialect, checked by compiling SQL: no server, no pyodbc needed.

Most tests bind the models to an ``MSSQLDatabase`` that is never connected and read
``query.sql()``. A few paths only run when a query executes (``count()``, ``exists()``,
the id after an INSERT, transactions, catalog look-ups); those use a stand-in DB-API
connection that records each statement and answers from a script, so the dialect's
own code runs while nothing reaches a server.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from peewee import (
    EXCLUDED,
    SQL,
    CharField,
    DatabaseProxy,
    DateTimeField,
    IntegerField,
    Model,
    NotSupportedError,
    Select,
    UUIDField,
    fn,
)
from playhouse.migrate import SchemaMigrator, SqliteMigrator

from control.apps.models import Apps
from control.apps.services import SORTABLE, AppFilter, _filtered, _with_last_runtime
from control.db import migrate
from control.db.database import connect_url
from control.db.dialects.mssql import (
    IDENTITY_SUFFIX,
    MSSQLDatabase,
    MSSQLMigrator,
    quote_identifier,
    redact,
)
from control.db.registry import CORE_MODELS
from control.errors import ConfigurationError
from control.logs.models import Logs
from control.querying import apply_sort
from control.runtimes.models import Runtime

URL = (
    "mssql://dc_app:s3cr%3Bt%7Dpw%40x@sql.example.net:1433/datacollector"
    "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes&Encrypt=yes"
)
PASSWORD = "s3cr;t}pw@x"  # what the URL's password decodes to


@pytest.fixture
def db() -> Iterator[MSSQLDatabase]:
    """A never-connected SQL Server database with the core models bound to it."""
    database = MSSQLDatabase.from_url(URL)
    with database.bind_ctx(CORE_MODELS):
        yield database
    assert database.is_closed()


def sql_of(query: Any) -> tuple[str, list[Any]]:
    return query.sql()


def apps_page_query() -> Any:
    query = _filtered(_with_last_runtime(), AppFilter(q="x_%"))
    return apply_sort(query, [], SORTABLE, tiebreak=Apps.id)


# -- a stand-in pyodbc connection --------------------------------------------------------

Result = int | list[tuple[Any, ...]]  # a row count, or the rows of a result set


class FakeCursor:
    """Enough of a pyodbc cursor: result sets, nextset(), rowcount."""

    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self._results: list[Result] = []
        self._rows: list[tuple[Any, ...]] = []
        self.description: list[tuple[str, ...]] | None = None
        self.rowcount = -1

    def execute(self, sql: str, params: Any = ()) -> FakeCursor:
        self.conn.executed.append((sql, list(params)))
        self._results = list(self.conn.respond(sql))
        self._load()
        return self

    def _load(self) -> None:
        result = self._results.pop(0) if self._results else 0
        if isinstance(result, int):
            self.description, self.rowcount, self._rows = None, result, []
        else:
            self.description, self.rowcount, self._rows = [("c",)], -1, list(result)

    def nextset(self) -> bool | None:
        if not self._results:
            return None
        self._load()
        return True

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def close(self) -> None:
        pass


class FakeConnection:
    def __init__(self, answers: Callable[[str], list[Result]] | None) -> None:
        self.executed: list[tuple[str, list[Any]]] = []
        self._answers = answers

    def respond(self, sql: str) -> list[Result]:
        if "SERVERPROPERTY('ProductVersion')" in sql:
            return [[("14.0.3456.2",)]]
        if self._answers is not None:
            return self._answers(sql)
        if sql.endswith(IDENTITY_SUFFIX):
            return [1, [(41,)]]
        return [1]

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        pass


class FakeDriverDatabase(MSSQLDatabase):
    """MSSQLDatabase whose connection is the stand-in above instead of pyodbc."""

    def __init__(self, answers: Callable[[str], list[Result]] | None = None) -> None:
        super().__init__("DRIVER={ODBC Driver 18 for SQL Server};SERVER=fake")
        self.fake = FakeConnection(answers)

    def _connect(self) -> FakeConnection:
        return self.fake

    @property
    def statements(self) -> list[str]:
        """What ran, without the session set-up done at connect."""
        return [
            sql
            for sql, _ in self.fake.executed
            if "SERVERPROPERTY" not in sql and not sql.startswith("SET ANSI")
        ]


@pytest.fixture
def fake_db() -> Iterator[FakeDriverDatabase]:
    database = FakeDriverDatabase()
    with database.bind_ctx(CORE_MODELS):
        yield database
    database.close()


# -- connection URL ----------------------------------------------------------------------


def test_from_url_builds_odbc_connection_string() -> None:
    db = MSSQLDatabase.from_url(URL)
    assert db.database == (
        "DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql.example.net,1433;"
        "DATABASE=datacollector;UID=dc_app;TrustServerCertificate=yes;Encrypt=yes"
    )
    # The password joins only the string handed to the driver, braced because of ';}'.
    assert db._connection_string().endswith(";PWD={s3cr;t}}pw@x}")


def test_from_url_defaults_driver_and_port() -> None:
    db = MSSQLDatabase.from_url("mssql+pyodbc://u:p@host/db")
    assert db.database == "DRIVER={ODBC Driver 18 for SQL Server};SERVER=host;DATABASE=db;UID=u"


@pytest.mark.parametrize(
    "url",
    [
        "mssql:///db",  # no host
        "mssql://u:p@host/db?PWD=other",  # credentials only from the URL
        "mssql://u:p@host/db?Server=elsewhere",
        "mssql://u:p@host:99999/db",
    ],
)
def test_from_url_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        MSSQLDatabase.from_url(url)


def test_password_never_shown() -> None:
    db = connect_url(URL)  # the project's own entry point for DC_DATABASE_URL
    assert isinstance(db, MSSQLDatabase)
    for text in (repr(db), str(db), db.database, repr(vars(db))):
        assert PASSWORD not in text
        assert "s3cr" not in text
    explicit = MSSQLDatabase("DRIVER={x};SERVER=h;UID=u;PWD={hunter2}")
    assert "hunter2" not in repr(explicit)
    assert redact("SERVER=h;Password=abc;UID=u") == "SERVER=h;Password=***;UID=u"


def test_missing_pyodbc_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyodbc", None)  # import pyodbc -> ImportError
    db = MSSQLDatabase.from_url(URL)
    with pytest.raises(ConfigurationError, match=r"pyodbc.*\[mssql\]") as info:
        db.connect()
    assert PASSWORD not in str(info.value)
    assert db.is_closed()


# -- DDL ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", CORE_MODELS, ids=lambda m: m.__name__)
def test_create_table_ddl(db: MSSQLDatabase, model: type[Model]) -> None:
    sql, params = model._schema._create_table(safe=False).query()
    assert params == []
    assert sql.startswith(f"CREATE TABLE [{model._meta.table_name}] (")
    assert '"' not in sql
    assert "`" not in sql
    # Every column name is bracket-quoted.
    for field in model._meta.sorted_fields:
        assert f"[{field.column_name}] " in sql
    # No type peewee uses elsewhere leaks through.
    for foreign in ("VARCHAR(", "TEXT", "BOOLEAN", "SMALLINT NOT NULL PRIMARY", "REAL", "BLOB"):
        assert foreign not in sql.replace("NVARCHAR(", "")
    assert re.search(r"\bDATETIME2\b", sql)
    assert " DATETIME " not in sql
    assert " DATETIME," not in sql


def test_create_table_types(db: MSSQLDatabase) -> None:
    apps, _ = Apps._schema._create_table(safe=False).query()
    assert "[id] NVARCHAR(128) NOT NULL PRIMARY KEY" in apps
    assert "[disabled] BIT NOT NULL" in apps
    assert "[description] NVARCHAR(MAX) NOT NULL" in apps
    assert "[next_run] DATETIME2," in apps
    assert "[consecutive_failures] INT NOT NULL" in apps
    assert "[progress_total] BIGINT," in apps
    logs, _ = Logs._schema._create_table(safe=False).query()
    assert "[id] INT IDENTITY(1,1) NOT NULL PRIMARY KEY" in logs
    assert "[level] SMALLINT NOT NULL" in logs
    runtime, _ = Runtime._schema._create_table(safe=False).query()
    assert "FOREIGN KEY ([app_id]) REFERENCES [apps] ([id]) ON DELETE CASCADE" in runtime


def test_create_table_safe_guards_with_object_id(db: MSSQLDatabase) -> None:
    sql, _ = Apps._schema._create_table(safe=True).query()
    assert "IF NOT EXISTS" not in sql
    assert sql.startswith("IF OBJECT_ID(N'[apps]', N'U') IS NULL CREATE TABLE [apps] (")


def test_indexes_have_no_if_not_exists(db: MSSQLDatabase) -> None:
    statements = [ctx.query()[0] for ctx in Apps._schema._create_indexes(safe=True)]
    assert "CREATE INDEX [apps_group_name_parent_name] ON [apps] ([group_name], [parent_name])" in (
        statements
    )
    assert all("IF NOT EXISTS" not in s for s in statements)


def test_explicit_safe_index_checks_sys_indexes(db: MSSQLDatabase) -> None:
    index = Apps.index(Apps.timezone, name="apps_tz").safe(True)
    sql, _ = db.get_sql_context().sql(index).query()
    assert sql == (
        "IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'apps_tz' AND "
        "object_id = OBJECT_ID(N'[apps]')) CREATE INDEX [apps_tz] ON [apps] ([timezone])"
    )


def test_identifiers_escape_closing_bracket() -> None:
    assert quote_identifier("odd]name") == "[odd]]name]"
    assert quote_identifier(None, "t") == "[t]"
    assert quote_identifier("dbo", "t") == "[dbo].[t]"

    class Odd(Model):
        weird = CharField(column_name="we[ir]d")

        class Meta:
            table_name = "od]d"

    with MSSQLDatabase("DRIVER={x};SERVER=h").bind_ctx([Odd]):
        sql, _ = Odd.select(Odd.weird).sql()
    assert sql == "SELECT [t1].[we[ir]]d] FROM [od]]d] AS [t1]"


def test_wide_char_columns_become_max() -> None:
    class Wide(Model):
        note = CharField(max_length=5000)

    with MSSQLDatabase("DRIVER={x};SERVER=h").bind_ctx([Wide]):
        sql, _ = Wide._schema._create_table(safe=False).query()
    assert "[note] NVARCHAR(MAX) NOT NULL" in sql


# -- queries -----------------------------------------------------------------------------


def test_apps_page_uses_offset_fetch(db: MSSQLDatabase) -> None:
    sql, params = sql_of(apps_page_query().paginate(3, 20))
    assert "LIMIT" not in sql
    assert (
        "FROM [apps] AS [t1] LEFT OUTER JOIN [runtime] AS [t2] ON ([t2].[id] = [t1].[last_runtime])"
        in (sql)
    )
    assert sql.endswith(" ORDER BY [t1].[id] ASC OFFSET 40 ROWS FETCH NEXT 20 ROWS ONLY")
    assert params == ["%x\\_\\%%", "%x\\_\\%%"]


def test_sorted_page_keeps_requested_order(db: MSSQLDatabase) -> None:
    from control.apps.run_state import with_runs
    from control.querying import SortKey

    query = apply_sort(with_runs(), [SortKey("last_run", True)], SORTABLE, Apps.id)
    sql, _ = sql_of(query.paginate(2, 50))
    assert sql.endswith(
        "ORDER BY COALESCE([current_run].[started], [t2].[started]) DESC, [t1].[id] ASC "
        "OFFSET 50 ROWS FETCH NEXT 50 ROWS ONLY"
    )


def test_offset_without_order_gets_select_null(db: MSSQLDatabase) -> None:
    sql, _ = sql_of(Logs.select(Logs.id).paginate(2, 10))
    assert sql == (
        "SELECT [t1].[id] FROM [logs] AS [t1] "
        "ORDER BY (SELECT NULL) OFFSET 10 ROWS FETCH NEXT 10 ROWS ONLY"
    )
    sql, _ = sql_of(Logs.select(Logs.id).offset(10))
    assert sql.endswith("FROM [logs] AS [t1] ORDER BY (SELECT NULL) OFFSET 10 ROWS")


def test_limit_alone_is_top(db: MSSQLDatabase) -> None:
    sql, _ = sql_of(Logs.select(Logs.id, Logs.level).limit(5))
    assert sql == "SELECT TOP (5) [t1].[id], [t1].[level] FROM [logs] AS [t1]"
    sql, _ = sql_of(Logs.select(Logs.id).order_by(Logs.id.desc()).limit(1001))
    assert sql == "SELECT TOP (1001) [t1].[id] FROM [logs] AS [t1] ORDER BY [t1].[id] DESC"
    # Model.get() pages to (1, 1): offset 0 is no offset.
    sql, _ = sql_of(Apps.select(Apps.id).where(Apps.id == "a").paginate(1, 1))
    assert sql == "SELECT TOP (1) [t1].[id] FROM [apps] AS [t1] WHERE ([t1].[id] = ?)"
    sql, _ = sql_of(Apps.select(Apps.id).distinct().limit(2))
    assert sql == "SELECT DISTINCT TOP (2) [t1].[id] FROM [apps] AS [t1]"


def test_limit_zero_is_top_zero(db: MSSQLDatabase) -> None:
    sql, _ = sql_of(Logs.select(Logs.id, Logs.message).limit(0))
    assert sql == "SELECT TOP (0) [t1].[id], [t1].[message] FROM [logs] AS [t1]"


def test_limit_rejects_garbage(db: MSSQLDatabase) -> None:
    with pytest.raises(ValueError, match="LIMIT"):
        sql_of(Logs.select().limit("5; DROP TABLE logs"))
    with pytest.raises(ValueError, match="OFFSET"):
        sql_of(Logs.select().offset(-1).limit(3))


def test_contains_is_like_with_escape(db: MSSQLDatabase) -> None:
    sql, params = sql_of(Apps.select(Apps.id).where(Apps.app.contains("x_%")))
    assert "ILIKE" not in sql
    assert sql.endswith("WHERE ([t1].[app_name] LIKE ? ESCAPE '\\')")
    assert params == ["%x\\_\\%%"]
    # No wildcard to escape: a plain LIKE.
    sql, params = sql_of(Apps.select(Apps.id).where(Apps.app.contains("abc")))
    assert sql.endswith("WHERE ([t1].[app_name] LIKE ?)")
    assert params == ["%abc%"]


def test_like_treats_open_bracket_as_a_character(db: MSSQLDatabase) -> None:
    # In T-SQL "[a]" is a character class; peewee's portable meaning is the text "[a]".
    _, params = sql_of(Apps.select(Apps.id).where(Apps.app.contains("[a]")))
    assert params == ["%[[]a]%"]
    _, params = sql_of(Apps.select(Apps.id).where(Apps.app.startswith("[x_")))
    assert params == ["[[]x\\_%"]


def test_count_subquery_has_no_order_by(db: MSSQLDatabase) -> None:
    query = apps_page_query()  # ordered by id, as the service's list is
    inner = query.order_by().alias("_wrapped").select(SQL("1"))
    sql, _ = sql_of(Select([inner], [fn.COUNT(SQL("1"))]).bind(db))
    assert sql.startswith(
        "SELECT COUNT(1) FROM (SELECT 1 AS [_c0] FROM [apps] AS [t1] LEFT OUTER JOIN"
    )
    assert "ORDER BY" not in sql
    assert sql.endswith(") AS [_wrapped]")


def test_count_runs_without_order_by(fake_db: FakeDriverDatabase) -> None:
    fake_db.fake._answers = lambda sql: [[(57,)]]
    assert apps_page_query().count() == 57  # count() keeps the ORDER BY in peewee
    (sql,) = fake_db.statements
    assert "ORDER BY" not in sql
    assert sql.startswith("SELECT TOP (1) COUNT(1) FROM (SELECT 1 AS [_c0] FROM [apps] AS [t1]")


def test_subquery_order_by_is_dropped_unless_paged(db: MSSQLDatabase) -> None:
    ordered = Runtime.select(Runtime.app).order_by(Runtime.started.desc())
    sql, _ = sql_of(Apps.select(Apps.id).where(Apps.id.in_(ordered)))
    assert sql == (
        "SELECT [t1].[id] FROM [apps] AS [t1] WHERE ([t1].[id] IN "
        "(SELECT [t2].[app_id] FROM [runtime] AS [t2]))"
    )
    sql, _ = sql_of(Apps.select(Apps.id).where(Apps.id.in_(ordered.limit(3))))
    assert sql.endswith(
        "IN (SELECT TOP (3) [t2].[app_id] FROM [runtime] AS [t2] ORDER BY [t2].[started] DESC))"
    )
    sql, _ = sql_of(Apps.select(Apps.id).where(Apps.id.in_(ordered.paginate(2, 3))))
    assert "ORDER BY [t2].[started] DESC OFFSET 3 ROWS FETCH NEXT 3 ROWS ONLY))" in sql
    # A default model select as a subquery projects its key, TOP included.
    recent = Runtime.select().order_by(Runtime.started.desc()).limit(2)
    sql, _ = sql_of(Runtime.select(Runtime.id).where(Runtime.id.in_(recent)))
    assert sql.endswith(
        "IN (SELECT TOP (2) [t1].[id] FROM [runtime] AS [t1] ORDER BY [t1].[started] DESC))"
    )


def test_exists_is_a_case_expression(fake_db: FakeDriverDatabase) -> None:
    fake_db.fake._answers = lambda sql: [[(1,)]]
    assert Apps.select().exists() is True  # as control/cli/demo.py asks
    assert fake_db.statements == [
        "SELECT TOP (1) CASE WHEN EXISTS(SELECT 1 FROM [apps] AS [t1]) THEN 1 ELSE 0 END"
    ]


def test_booleans_and_datetimes(db: MSSQLDatabase) -> None:
    sql, params = sql_of(Apps.select(Apps.id).where(Apps.disabled == False))  # noqa: E712
    assert sql.endswith("WHERE ([t1].[disabled] = ?)")
    assert params == [False]  # pyodbc binds bool as BIT 0/1
    moment = dt.datetime(2025, 1, 15, 7, 30, 0, 123456)
    assert MSSQLDatabase.adapt_param(moment) == "2025-01-15T07:30:00.123456"
    assert MSSQLDatabase.adapt_param(moment.replace(microsecond=0)) == moment.replace(microsecond=0)
    assert MSSQLDatabase.adapt_param(dt.time(1, 2, 3, 4)) == "01:02:03.000004"
    assert MSSQLDatabase.adapt_param(True) is True


def test_microseconds_reach_the_driver_as_text(fake_db: FakeDriverDatabase) -> None:
    moment = dt.datetime(2025, 1, 15, 7, 30, 0, 123456)
    list(Logs.select(Logs.id).where(Logs.timestamp >= moment))
    (_, params), *_ = [e for e in fake_db.fake.executed if e[0].startswith("SELECT [t1]")]
    assert params == ["2025-01-15T07:30:00.123456"]


def test_uuid_values_are_guids() -> None:
    class Token(Model):
        key = UUIDField()

    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    with MSSQLDatabase("DRIVER={x};SERVER=h").bind_ctx([Token]):
        ddl, _ = Token._schema._create_table(safe=False).query()
        _, params = Token.select().where(Token.key == value).sql()
    assert "[key] UNIQUEIDENTIFIER NOT NULL" in ddl
    assert params == [value]


def test_for_update_becomes_lock_hints(db: MSSQLDatabase) -> None:
    sql, _ = sql_of(Apps.select(Apps.id).where(Apps.id == "a").for_update())
    assert (
        sql == "SELECT [t1].[id] FROM [apps] AS [t1] WITH (UPDLOCK, ROWLOCK) WHERE ([t1].[id] = ?)"
    )
    assert "FOR UPDATE" not in sql
    sql, _ = sql_of(Apps.select(Apps.id).for_update(skip_locked=True).limit(1))
    assert sql == "SELECT TOP (1) [t1].[id] FROM [apps] AS [t1] WITH (UPDLOCK, ROWLOCK, READPAST)"


def test_unsupported_clauses_fail_at_compile_time(db: MSSQLDatabase) -> None:
    with pytest.raises(NotSupportedError, match="RETURNING"):
        sql_of(Logs.delete().where(Logs.id < 3).returning(Logs.id))
    with pytest.raises(NotSupportedError, match="LIMIT on UPDATE"):
        sql_of(Logs.update(level=1).limit(3))


class Revoked(Model):
    """The shape of control/auth's revoked_token table, for the upsert tests."""

    jti = CharField(max_length=80, primary_key=True)
    expires = DateTimeField()
    hits = IntegerField(default=0)


MERGE_SOURCE = (
    "MERGE INTO [revoked] WITH (HOLDLOCK) AS [revoked] USING (VALUES (?, ?, ?)) "
    "AS [EXCLUDED] ([jti], [expires], [hits]) ON ([revoked].[jti] = [EXCLUDED].[jti])"
)
MERGE_INSERT = (
    " WHEN NOT MATCHED THEN INSERT ([jti], [expires], [hits]) "
    "VALUES ([EXCLUDED].[jti], [EXCLUDED].[expires], [EXCLUDED].[hits]);"
)


def test_upsert_is_merge() -> None:
    moment = dt.datetime(2025, 1, 15, 7, 30)
    with MSSQLDatabase("DRIVER={x};SERVER=h").bind_ctx([Revoked]):
        # As control/auth/revocation.py writes it.
        query = Revoked.insert(jti="a", expires=moment).on_conflict(
            conflict_target=[Revoked.jti], update={Revoked.expires: moment}
        )
        assert query.sql() == (
            MERGE_SOURCE + " WHEN MATCHED THEN UPDATE SET [expires] = ?" + MERGE_INSERT,
            ["a", moment, 0, moment],
        )
        sql, params = (
            Revoked.insert(jti="a", expires=moment)
            .on_conflict(
                conflict_target=[Revoked.jti],
                preserve=[Revoked.expires],
                update={Revoked.hits: Revoked.hits + 1},
                where=(Revoked.expires < EXCLUDED.expires),
            )
            .sql()
        )
        assert sql == (
            MERGE_SOURCE + " WHEN MATCHED AND ([revoked].[expires] < EXCLUDED.[expires]) "
            "THEN UPDATE SET [expires] = [EXCLUDED].[expires], [hits] = ([revoked].[hits] + ?)"
            + MERGE_INSERT
        )
        assert params == ["a", moment, 0, 1]
        # Ignore: insert what is new, on the primary key.
        sql, _ = Revoked.insert(jti="a", expires=moment).on_conflict_ignore().sql()
        assert sql == MERGE_SOURCE + MERGE_INSERT
        rows = [{"jti": "a", "expires": moment}, {"jti": "b", "expires": moment}]
        sql, params = Revoked.insert_many(rows).on_conflict_replace().sql()
        assert "USING (VALUES (?, ?, ?), (?, ?, ?)) AS [EXCLUDED]" in sql
        assert "UPDATE SET [expires] = [EXCLUDED].[expires], [hits] = [EXCLUDED].[hits]" in sql
        assert len(params) == 6
        with pytest.raises(NotSupportedError, match="conflict_target"):
            Revoked.insert(jti="a", expires=moment).on_conflict(
                conflict_target=["no_such_column"], preserve=[Revoked.expires]
            ).sql()


# -- writes ------------------------------------------------------------------------------


def test_insert_compiles(db: MSSQLDatabase) -> None:
    sql, params = sql_of(Logs.insert(app="a", level=20, message="m", module="", function=""))
    assert sql == (
        "INSERT INTO [logs] ([app_id], [level], [module], [function], [message], [timestamp]) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    assert params[:5] == ["a", 20, "", "", "m"]
    assert isinstance(params[5], dt.datetime)
    rows = [{"app": "a", "level": 10, "message": str(i)} for i in range(3)]
    sql, params = sql_of(Logs.insert_many(rows))
    assert sql.count("(?, ?, ?, ?, ?, ?)") == 3
    assert len(params) == 18


def test_insert_returns_scope_identity(fake_db: FakeDriverDatabase) -> None:
    log = Logs.create(app="a", level=20, message="hello")
    assert log.id == 41  # from SELECT SCOPE_IDENTITY(), after the INSERT's row count
    (sql,) = fake_db.statements
    assert sql.startswith("INSERT INTO [logs] (")
    assert sql.endswith("; SELECT CAST(SCOPE_IDENTITY() AS BIGINT)")
    assert Logs.insert_many([{"app": "a", "level": 1, "message": "x"}] * 2).execute() == 41
    with fake_db.bind_ctx([Revoked]):
        Revoked.insert(jti="j", expires=dt.datetime(2025, 1, 1)).on_conflict_ignore().execute()
    assert fake_db.statements[-1].endswith(
        "[EXCLUDED].[hits]); SELECT CAST(SCOPE_IDENTITY() AS BIGINT)"
    )


def test_insert_as_rowcount_and_updates_use_rowcount(fake_db: FakeDriverDatabase) -> None:
    fake_db.fake._answers = lambda sql: [3]
    assert Logs.insert(app="a", level=1, message="m").as_rowcount().execute() == 3
    assert Apps.update(disabled=True).where(Apps.group == "g").execute() == 3
    assert not any(s.endswith(IDENTITY_SUFFIX) for s in fake_db.statements)


def test_transactions_and_savepoints(fake_db: FakeDriverDatabase) -> None:
    with fake_db.atomic():
        with fake_db.atomic():
            fake_db.execute_sql("SELECT 1")
        with pytest.raises(RuntimeError), fake_db.atomic():
            raise RuntimeError
    statements = fake_db.statements
    assert statements[0] == "BEGIN TRANSACTION"
    assert re.fullmatch(r"SAVE TRANSACTION \[s[0-9a-f]{24}\]", statements[1])
    assert statements[2] == "SELECT 1"
    assert statements[3].startswith("SAVE TRANSACTION [s")
    assert statements[4] == statements[3].replace("SAVE", "ROLLBACK")
    assert statements[5] == "COMMIT TRANSACTION"
    assert len(statements) == 6  # no RELEASE SAVEPOINT: T-SQL has none


# -- introspection and migrations --------------------------------------------------------


def test_migration_runner_gets_the_mssql_migrator(db: MSSQLDatabase) -> None:
    assert isinstance(SchemaMigrator.from_database(db), MSSQLMigrator)
    proxy = DatabaseProxy()
    proxy.initialize(db)
    assert isinstance(SchemaMigrator.from_database(proxy), MSSQLMigrator)
    migrator = migrate.runner(db).migrator
    assert isinstance(migrator, MSSQLMigrator)
    # The core migration's FTS branch keys on SqliteMigrator/PostgresqlMigrator.
    assert not isinstance(migrator, SqliteMigrator)
    # Other databases still get peewee's own migrators.
    from peewee import SqliteDatabase

    assert isinstance(SchemaMigrator.from_database(SqliteDatabase(":memory:")), SqliteMigrator)


def run_operation(op: Any) -> list[tuple[str, list[Any]]]:
    """Compile what a migrator operation would execute, without executing it."""
    result = op.fn(op.migrator, *op.args, **op.kwargs)
    items = result if isinstance(result, list) else [result]
    ctx = op.migrator.database.get_sql_context
    return [item.query() if hasattr(item, "query") else ctx().sql(item).query() for item in items]


def test_migrator_operations_compile(db: MSSQLDatabase) -> None:
    m = MSSQLMigrator(db)
    assert run_operation(
        m.alter_add_column("apps", "owner", CharField(max_length=64, null=True))
    ) == [("ALTER TABLE [apps] ADD [owner] NVARCHAR(64) NULL", [])]
    assert run_operation(m.rename_column("apps", "owner", "team")) == [
        (
            "EXEC sp_rename @objname = ?, @newname = ?, @objtype = 'COLUMN'",
            ["[apps].[owner]", "team"],
        )
    ]
    assert run_operation(m.rename_table("apps", "app")) == [
        ("EXEC sp_rename @objname = ?, @newname = ?", ["[apps]", "app"])
    ]
    assert run_operation(m.add_index("apps", ("timezone", "schedule"))) == [
        ("CREATE INDEX [apps_timezone_schedule] ON [apps] ([timezone], [schedule])", [])
    ]
    assert run_operation(m.drop_index("apps", "apps_timezone_schedule")) == [
        ("DROP INDEX [apps_timezone_schedule] ON [apps]", [])
    ]
    assert run_operation(m.alter_column_type("apps", "version", IntegerField(null=False))) == [
        ("ALTER TABLE [apps] ALTER COLUMN [version] INT NOT NULL", [])
    ]
    assert run_operation(m.add_column_default("apps", "timezone", "UTC")) == [
        ("ALTER TABLE [apps] ADD CONSTRAINT [df_apps_timezone] DEFAULT 'UTC' FOR [timezone]", [])
    ]
    with pytest.raises(NotSupportedError, match="CASCADE"):
        run_operation(m.drop_table("apps", cascade=True))


def catalog_answers(sql: str) -> list[Result]:
    """Scripted catalog rows for a table ``apps`` with one index and one default."""
    if "INFORMATION_SCHEMA.COLUMNS" in sql:
        return [
            [
                ("id", "nvarchar", "NO", None, 128, None, None, None, 0),
                ("owner", "nvarchar", "YES", None, 64, None, None, None, 0),
                ("seen", "datetime2", "YES", None, None, None, None, 7, 0),
            ]
        ]
    if "PRIMARY KEY" in sql:
        return [[("id",)]]
    if "FROM sys.indexes" in sql:
        return [
            [
                ("PK__apps", 1, 1, 0, "id", 0, None),
                ("apps_owner_seen", 0, 0, 0, "owner", 0, None),
                ("apps_owner_seen", 0, 0, 0, "seen", 1, None),
            ]
        ]
    if "sys.default_constraints" in sql:
        return [[("DF__apps__owner",)]]
    if "sys.foreign_keys" in sql:
        return [[]]
    return [1]


def test_introspection_reads_the_catalog() -> None:
    db = FakeDriverDatabase(catalog_answers)
    columns = db.get_columns("apps")
    assert [(c.name, c.full_type, c.null, c.primary_key) for c in columns] == [
        ("id", "NVARCHAR(128)", False, True),
        ("owner", "NVARCHAR(64)", True, False),
        ("seen", "DATETIME2(7)", True, False),
    ]
    indexes = db.get_indexes("apps")
    assert [(i.name, i.columns, i.unique) for i in indexes] == [
        ("PK__apps", ["id"], True),
        ("apps_owner_seen", ["owner", "seen"], False),
    ]
    assert indexes[1].sql == "CREATE INDEX [apps_owner_seen] ON [apps] ([owner], [seen] DESC)"
    assert db.get_primary_keys("apps") == ["id"]
    assert db.get_foreign_keys("apps") == []
    assert db.sequence_exists("anything") is False
    # Catalog look-ups are parameterised, the table name is never spliced in.
    assert all("apps" not in sql for sql in db.statements)
    db.close()


def test_migrator_nullability_and_drop_column_use_the_catalog() -> None:
    db = FakeDriverDatabase(catalog_answers)
    m = MSSQLMigrator(db)
    assert run_operation(m.add_not_null("apps", "owner")) == [
        ("ALTER TABLE [apps] ALTER COLUMN [owner] NVARCHAR(64) NOT NULL", [])
    ]
    assert run_operation(m.drop_not_null("apps", "seen")) == [
        ("ALTER TABLE [apps] ALTER COLUMN [seen] DATETIME2(7) NULL", [])
    ]
    assert [sql for sql, _ in run_operation(m.drop_column("apps", "owner"))] == [
        "DROP INDEX [apps_owner_seen] ON [apps]",
        "ALTER TABLE [apps] DROP CONSTRAINT [DF__apps__owner]",
        "ALTER TABLE [apps] DROP COLUMN [owner]",
    ]
    db.close()


def test_create_tables_checks_information_schema_first() -> None:
    answers: dict[str, list[Result]] = {"exists": [[]]}

    def respond(sql: str) -> list[Result]:
        if "INFORMATION_SCHEMA.TABLES" in sql:
            return answers["exists"]
        return [1]

    db = FakeDriverDatabase(respond)
    with db.bind_ctx(CORE_MODELS):
        db.create_tables([Apps])
        created = list(db.statements)
        answers["exists"] = [[(1,)]]
        db.create_tables([Apps])
    db.close()
    assert created[0].startswith("SELECT 1 FROM INFORMATION_SCHEMA.TABLES")
    assert created[1].startswith("IF OBJECT_ID(N'[apps]', N'U') IS NULL CREATE TABLE [apps]")
    assert sum(s.startswith("CREATE INDEX [apps_") for s in created) == 5
    # Second run: the table exists, nothing is created.
    assert db.statements[len(created) :] == [created[0]]


def test_core_migration_runs_through_the_runner() -> None:
    """control/db/migrations/0001 through peewee's Runner, against the stand-in driver."""
    db = FakeDriverDatabase()  # every catalog look-up answers "no such table"
    assert migrate.upgrade(db)[0] == "0001_core_tables"  # later migrations may follow
    db.close()
    statements = db.statements
    begin = statements.index("BEGIN TRANSACTION")
    commit = statements.index("COMMIT TRANSACTION")
    history = statements[:begin]
    assert any(s.startswith("IF OBJECT_ID(N'[schema_migration]', N'U') IS NULL") for s in history)
    assert "CREATE UNIQUE INDEX [schema_migration_name] ON [schema_migration] ([name])" in history
    first = statements[begin:commit]
    created = [s for s in first if "CREATE TABLE" in s]
    names = [re.search(r"CREATE TABLE \[(\w+)\]", s).group(1) for s in created]  # type: ignore[union-attr]
    assert sorted(names) == ["apps", "function_log", "logs", "pipeline_task", "runtime"]
    assert names.index("apps") < names.index("runtime")  # the foreign key's target first
    # The MSSQL branch runs no full-text statements.
    assert not any("fts" in s.lower() or "tsvector" in s for s in first)
    assert first[-1].startswith("INSERT INTO [schema_migration] ([name], [applied])")
    assert first[-1].endswith(IDENTITY_SUFFIX)
