"""Open the state file: read-write for the bot (WAL, migrated), read-only for viewers (stdlib only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dopebot.core.errors import StoreError
from dopebot.store.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlite_utils import Database

BUSY_TIMEOUT_MS = 5_000


def open_store(path: str | Path) -> Database:
    """Open (creating if needed) a bot's state file, tuned for one writer and many readers, migrated."""
    import sqlite_utils  # lazily: it pulls in click and pluggy (~0.2 s); writers of plain rows use open_connection

    return sqlite_utils.Database(open_connection(path))


def open_connection(path: str | Path) -> sqlite3.Connection:
    """The same as open_store, as a plain sqlite3 connection (standard library only)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    except (OSError, sqlite3.Error) as error:
        raise StoreError(f"{path}: cannot open state file ({error})") from None
    try:
        version = _check_identity(connection, path)
        _configure(connection, path)
        if version < SCHEMA_VERSION:
            _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """A connection that cannot write, for the TUI and reports: attaching must never disturb the bot."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path}: no such state file")
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot open state file read-only ({error})") from None
    try:
        version = _check_identity(connection, path)
        if version == 0:
            raise StoreError(f"{path}: not a dopebot state file (schema was never created)")
        connection.execute("PRAGMA query_only = ON")
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except BaseException:
        connection.close()
        raise
    return connection


def schema_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _check_identity(connection: sqlite3.Connection, path: Path) -> int:
    """Refuse files that are not SQLite, belong to another program, or come from a newer dopebot."""
    try:
        version = schema_version(connection)
        application_id = int(connection.execute("PRAGMA application_id").fetchone()[0])
        has_tables = connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: not a SQLite database ({error})") from None
    if application_id not in (0, APPLICATION_ID) or (version == 0 and has_tables):
        raise StoreError(f"{path}: a SQLite file, but not a dopebot state file")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {version} is newer than this dopebot understands "
                         f"({SCHEMA_VERSION}); upgrade dopebot")
    return version


def _configure(connection: sqlite3.Connection, path: Path) -> None:
    try:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as error:
        raise StoreError(f"{path}: cannot configure state file ({error})") from None
    if str(mode).lower() != "wal":
        raise StoreError(f"{path}: cannot switch to WAL mode (got {mode}); is it on a network file system?")


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Apply pending migrations in one IMMEDIATE transaction: two processes opening a new file never race."""
    previous_isolation = connection.isolation_level
    connection.isolation_level = None  # explicit BEGIN/COMMIT; executescript would commit early
    try:
        connection.execute("BEGIN IMMEDIATE")
        version = schema_version(connection)  # re-read under the write lock
        for number in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[number]):
                connection.execute(statement)
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        connection.execute("COMMIT")
    except sqlite3.Error as error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise StoreError(f"{path}: schema migration failed ({error})") from None
    finally:
        connection.isolation_level = previous_isolation


def _statements(script: str) -> Iterator[str]:
    """Split a script into complete statements (sqlite3 knows where a trigger body ends)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:60]}")
