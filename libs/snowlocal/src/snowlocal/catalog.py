"""DuckDB-side bookkeeping for databases: attach on restart, detach on DROP DATABASE.

fakesnow keeps each database in its own DuckDB file under the data dir, attached when created;
after a restart snowlocal attaches again every database its account model knows. fakesnow has no
DROP DATABASE, so snowlocal detaches the database and deletes its file.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from fakesnow import info_schema, macros

from snowlocal.account import DATABASE

if TYPE_CHECKING:
    from snowlocal.engine import Snowlocal


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _file_literal(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def database_file(engine: Snowlocal, name: str) -> str:
    if engine.fs.db_path is None:
        return ":memory:"
    return str(engine.fs.db_path) + "/" + name + ".db"


def reattach_databases(engine: Snowlocal) -> None:
    duck = engine.fs.duck_conn
    for obj in engine.account.of_kind(DATABASE):
        name = obj.ref.name[0]
        duck.execute(f"ATTACH IF NOT EXISTS {_file_literal(database_file(engine, name))} AS {_quoted(name)}")
        duck.execute(info_schema.per_db_creation_sql(_quoted(name)))
        duck.execute(macros.creation_sql(_quoted(name)))


def detach_database(engine: Snowlocal, name: str) -> None:
    """Forget a database in DuckDB; sessions using it are left with no current database."""
    for session in engine.sessions.values():
        if session.conn.database == name:
            session.conn._duck_conn.execute("USE memory.main")
            session.conn.database = None
            session.conn._schema = None
            session.conn.database_set = False
            session.conn.schema_set = False
    duck = engine.fs.duck_conn
    duck.execute("USE memory.main")
    duck.execute(f"DETACH DATABASE IF EXISTS {_quoted(name)}")
    path = database_file(engine, name)
    if path != ":memory:":
        import os

        for suffix in ("", ".wal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path + suffix)
