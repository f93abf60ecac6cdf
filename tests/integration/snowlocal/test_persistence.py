"""With --data-dir, objects, data, owners and grants survive a restart of snowlocal."""

from __future__ import annotations

from pathlib import Path

import snowflake.connector

from meshplane.devstack.net import LOCALHOST, free_port, make_up_ports
from meshplane.devstack.snowlocal import running_snowlocal


def _run(endpoint_kwargs: dict[str, object], *statements: str) -> list[list[tuple[object, ...]]]:
    with snowflake.connector.connect(**endpoint_kwargs) as conn, conn.cursor() as cur:
        out = []
        for statement in statements:
            cur.execute(statement)
            out.append(list(cur.fetchall()))
        return out


def test_state_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port(LOCALHOST, avoid=make_up_ports())
    with running_snowlocal(port=port, data_dir=data_dir, work_dir=tmp_path) as endpoint:
        _run(
            endpoint.connect_kwargs(),
            "CREATE WAREHOUSE KEPT_WH WAREHOUSE_SIZE = XSMALL",
            "CREATE DATABASE KEPT",
            "CREATE SCHEMA KEPT.S WITH MANAGED ACCESS",
            "CREATE TABLE KEPT.S.T (A INT)",
            "INSERT INTO KEPT.S.T VALUES (1), (2)",
            "CREATE ROLE KEEPER",
            "GRANT USAGE ON DATABASE KEPT TO ROLE KEEPER",
            "GRANT SELECT ON FUTURE TABLES IN SCHEMA KEPT.S TO ROLE KEEPER",
            "CREATE USER KU PASSWORD = 'pw' DEFAULT_ROLE = KEEPER",
            "GRANT ROLE KEEPER TO USER KU",
            "CREATE DATABASE GONE",
            "DROP DATABASE GONE",
        )
    with running_snowlocal(port=port, data_dir=data_dir, work_dir=tmp_path) as endpoint:
        rows, schemas, grants, future, databases = _run(
            endpoint.connect_kwargs(warehouse="KEPT_WH"),
            "SELECT A FROM KEPT.S.T ORDER BY A",
            "SHOW SCHEMAS IN DATABASE KEPT",
            "SHOW GRANTS TO ROLE KEEPER",
            "SHOW FUTURE GRANTS IN SCHEMA KEPT.S",
            "SHOW DATABASES",
        )
        assert rows == [(1,), (2,)]
        assert {(r[1], r[7]) for r in schemas} >= {("S", "MANAGED ACCESS")}
        assert {(r[1], r[3]) for r in grants} == {("USAGE", "KEPT")}
        assert [(r[1], r[2]) for r in future] == [("SELECT", "TABLE")]
        assert "GONE" not in {r[1] for r in databases}
        # The user and its role came back too: it logs in with them.
        assert _run(endpoint.connect_kwargs(user="KU", password="pw"), "SELECT CURRENT_ROLE()") == [
            [("KEEPER",)]
        ]
