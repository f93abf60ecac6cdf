"""The HTTP protocol snowflake-connector-python speaks, served over snowlocal's engine.

Endpoints and payload shapes are the ones the connector uses (login-request, query-request,
multi-statement results under /queries/<id>/result, session delete and heartbeat). Every failure
is answered as a failed query with Snowflake's errno and SQLSTATE; an unexpected exception is
logged and reported the same way, so a client never sees an HTTP 500.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import uuid
from base64 import b64encode
from decimal import Decimal
from typing import Any

from fakesnow.arrow import to_ipc, to_sf
from fakesnow.converter import from_binding
from fakesnow.rowtype import describe_as_rowtype
from fakesnow.statement_type import DML_TYPE_IDS
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from snowlocal import (  # noqa: F401  (registers their handlers)
    alter,
    cmd_access,
    cmd_objects,
    cmd_session,
    cmd_shares,
    cmd_tags,
    cmd_warehouses,
    masking,
)
from snowlocal.engine import FakesnowResult, Result, Session, Snowlocal
from snowlocal.errors import SnowflakeError, not_supported
from snowlocal.results import ResultSet

logger = logging.getLogger("snowlocal")

_MULTI_STATEMENT_TYPE = 0x1000


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if request.headers.get("Content-Encoding") == "gzip":
        raw = gzip.decompress(raw)
    return json.loads(raw) if raw else {}


def _failure(exc: SnowflakeError, query_id: str | None = None, status_code: int = 200) -> JSONResponse:
    code = f"{exc.errno:06d}"
    return JSONResponse(
        {
            "data": {"errorCode": code, "sqlState": exc.sqlstate, "queryId": query_id},
            "code": code,
            "message": exc.message,
            "success": False,
        },
        status_code=status_code,
    )


def _session_info(session: Session) -> dict[str, Any]:
    return {
        "databaseName": session.database,
        "schemaName": session.schema,
        "warehouseName": session.warehouse,
        "roleName": session.role,
    }


def create_app(engine: Snowlocal) -> Starlette:
    async def login(request: Request) -> JSONResponse:
        try:
            body = await _body(request)
            data = body.get("data", {})
            q = request.query_params
            session = await run_in_threadpool(
                engine.login,
                str(data.get("LOGIN_NAME", "")),
                str(data.get("PASSWORD", "")),
                q.get("roleName"),
                q.get("databaseName"),
                q.get("schemaName"),
                q.get("warehouse"),
            )
            # Session parameters given at login (the connector's session_parameters) apply as if set
            # by ALTER SESSION; only the ones snowlocal knows are kept.
            from snowlocal.cmd_session import SESSION_PARAMETERS

            given = data.get("SESSION_PARAMETERS") or {}
            session.parameters.update(
                {k.upper(): str(v) for k, v in given.items() if k.upper() in SESSION_PARAMETERS}
            )
        except SnowflakeError as exc:
            return _failure(exc)
        except Exception:
            logger.exception("login failed unexpectedly")
            return _failure(SnowflakeError(390100, "08004", "Login failed."))
        return JSONResponse(
            {
                "data": {
                    "token": session.token,
                    "masterToken": session.token,
                    "sessionId": abs(hash(session.token)) % (10**12),
                    "validityInSeconds": 3600,
                    "masterValidityInSeconds": 14400,
                    "serverVersion": "9.0.0",
                    "parameters": [
                        {"name": "AUTOCOMMIT", "value": True},
                        {"name": "TIMEZONE", "value": "Etc/UTC"},
                        {"name": "CLIENT_SESSION_KEEP_ALIVE_HEARTBEAT_FREQUENCY", "value": 3600},
                        # 0 keeps array bindings inline: snowlocal has no stage upload for them.
                        {"name": "CLIENT_STAGE_ARRAY_BINDING_THRESHOLD", "value": 0},
                    ],
                    "sessionInfo": _session_info(session),
                },
                "success": True,
            }
        )

    def _session(request: Request) -> Session:
        auth = request.headers.get("Authorization", "")
        token = auth[len('Snowflake Token="') : -1] if auth.startswith('Snowflake Token="') else ""
        session = engine.session(token)
        if session is None:
            raise SnowflakeError(390104, "08001", "User must login again to access the service.")
        return session

    async def query(request: Request) -> JSONResponse:
        query_id = str(uuid.uuid4())
        try:
            session = _session(request)
        except SnowflakeError as exc:
            return _failure(exc, status_code=401)
        try:
            body = await _body(request)
            sql = body.get("sqlText", "")
            if body.get("describeOnly"):
                raise not_supported("describe-only requests")
            params = _bindings(body.get("bindings"))
            wanted = str((body.get("parameters") or {}).get("MULTI_STATEMENT_COUNT", "1"))
            results = await run_in_threadpool(
                functools.partial(engine.execute, session, sql, params, expected=int(wanted))
            )
            if wanted == "1":
                return JSONResponse({"data": _payload(session, results[0], query_id), "success": True})
            ids = []
            for result in results:
                child_id = str(uuid.uuid4())
                session.results[child_id] = _payload(session, result, child_id)
                ids.append(child_id)
            return JSONResponse(
                {
                    "data": {
                        "resultIds": ",".join(ids),
                        "resultTypes": ",".join(str(session.results[i]["statementTypeId"]) for i in ids),
                        "queryId": query_id,
                        "statementTypeId": _MULTI_STATEMENT_TYPE,
                        "rowtype": [_column_info("multiple statement execution", "text")],
                        "rowset": [["Multiple statements executed successfully."]],
                        "queryResultFormat": "json",
                        "total": 1,
                        **_final(session),
                    },
                    "success": True,
                }
            )
        except SnowflakeError as exc:
            return _failure(exc, query_id)
        except Exception as exc:
            logger.exception(
                "unexpected failure running %r", body.get("sqlText") if "body" in locals() else None
            )
            return _failure(
                SnowflakeError(603, "XX000", f"SQL execution internal error in snowlocal: {exc}"), query_id
            )

    async def query_result(request: Request) -> JSONResponse:
        try:
            session = _session(request)
        except SnowflakeError as exc:
            return _failure(exc, status_code=401)
        qid = request.path_params["qid"]
        payload = session.results.pop(qid, None)
        if payload is None:
            return _failure(SnowflakeError(709, "02000", f"Statement {qid} not found"), qid)
        return JSONResponse({"data": payload, "success": True})

    async def session_endpoint(request: Request) -> JSONResponse:
        try:
            session = _session(request)
        except SnowflakeError as exc:
            return _failure(exc, status_code=401)
        if request.query_params.get("delete"):
            await run_in_threadpool(engine.close_session, session.token)
        return JSONResponse({"data": None, "code": None, "message": None, "success": True})

    async def abort(_request: Request) -> JSONResponse:
        return JSONResponse({"data": None, "success": True})

    async def monitoring(request: Request) -> JSONResponse:
        return JSONResponse(
            {"data": {"queries": [{"id": request.path_params["qid"], "status": "SUCCESS"}]}, "success": True}
        )

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "sessions": len(engine.sessions)})

    routes = [
        Route("/session/v1/login-request", login, methods=["POST"]),
        Route("/session", session_endpoint, methods=["POST"]),
        Route("/session/heartbeat", session_endpoint, methods=["POST"]),
        Route("/queries/v1/query-request", query, methods=["POST"]),
        Route("/queries/v1/abort-request", abort, methods=["POST"]),
        Route("/queries/{qid}/result", query_result, methods=["GET"]),
        Route("/monitoring/queries/{qid}", monitoring, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def _bindings(bindings: dict[str, Any] | None) -> Any:
    if not bindings:
        return None
    if not all(k.isdigit() for k in bindings):
        return {name: from_binding(b) for name, b in bindings.items()}
    if any(isinstance(b.get("value"), list) for b in bindings.values()):
        raise not_supported("array bindings (executemany with qmark)")
    return tuple(from_binding(bindings[str(pos)]) for pos in range(1, len(bindings) + 1))


def _final(session: Session) -> dict[str, Any]:
    return {
        "finalDatabaseName": session.database,
        "finalSchemaName": session.schema,
        "finalWarehouseName": session.warehouse,
        "finalRoleName": session.role,
    }


def _column_info(name: str, kind: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": name,
        "database": "",
        "schema": "",
        "table": "",
        "nullable": True,
        "type": kind,
        "byteLength": None,
        "length": None,
        "scale": None,
        "precision": None,
        "collation": None,
    }
    if kind == "fixed":
        info.update(precision=38, scale=0)
    elif kind == "timestamp_ltz":
        info.update(precision=0, scale=3)
    elif kind == "text":
        info.update(length=16777216, byteLength=16777216)
    return info


def _json_value(value: Any, kind: str) -> str | None:
    if value is None:
        return None
    if kind == "timestamp_ltz":
        return f"{float(value):.3f}"
    if kind == "boolean":
        return "true" if value in (True, "true", "TRUE") else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return str(value)


def _payload(session: Session, result: Result, query_id: str) -> dict[str, Any]:
    if isinstance(result, ResultSet):
        return {
            "rowtype": [_column_info(c.name, c.type) for c in result.columns],
            "rowset": [
                [_json_value(v, c.type) for v, c in zip(row, result.columns, strict=True)]
                for row in result.rows
            ],
            "total": len(result.rows),
            "returned": len(result.rows),
            "queryResultFormat": "json",
            "queryId": query_id,
            "statementTypeId": result.statement_type_id,
            "parameters": [{"name": "TIMEZONE", "value": "Etc/UTC"}],
            **_final(session),
        }
    return _fakesnow_payload(session, result, query_id)


def _fakesnow_payload(session: Session, result: FakesnowResult, query_id: str) -> dict[str, Any]:
    cur = result.cursor
    rowtype = describe_as_rowtype(cur._describe_last_sql())
    type_id = result.statement_type_id
    arrow_table = cur._arrow_table
    body: dict[str, Any]
    if arrow_table is not None and type_id in DML_TYPE_IDS:
        # Clients read affected-row counts from a JSON rowset.
        body = {
            "queryResultFormat": "json",
            "rowset": [
                [None if v is None else str(v) for v in row]
                for row in zip(*[c.to_pylist() for c in arrow_table.columns], strict=True)
            ],
        }
    elif arrow_table is not None:
        body = {
            "queryResultFormat": "arrow",
            "rowsetBase64": b64encode(to_ipc(to_sf(arrow_table, rowtype))).decode(),
        }
    else:
        body = {"queryResultFormat": "arrow", "rowsetBase64": ""}
    return {
        "rowtype": rowtype,
        "total": arrow_table.num_rows if arrow_table is not None else 0,
        "queryId": query_id,
        "statementTypeId": type_id,
        "parameters": [{"name": "TIMEZONE", "value": "Etc/UTC"}],
        **_final(session),
        **body,
    }
