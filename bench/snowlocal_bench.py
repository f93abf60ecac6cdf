"""Benchmark: what snowlocal's account model costs over plain fakesnow, per connector round trip.

Starts snowlocal and fakesnow's own server side by side (separate processes, free ports), then
times 1,000 `SELECT 1` and 1,000 `GRANT` round trips through snowflake-connector-python against
each, interleaved in blocks so that noise on this shared machine falls on both alike. fakesnow has
no GRANT: it is given `nop_regexes` so it answers GRANT with an immediate success, the cheapest
possible baseline. Writes bench/results/snowlocal.json; the figure that matters is the ratio.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import snowflake.connector

from meshplane.devstack.net import LOCALHOST, free_port, make_up_ports
from meshplane.devstack.snowlocal import running_snowlocal

ROUNDS = 1000
BLOCK = 100
RESULTS = Path(__file__).parent / "results" / "snowlocal.json"


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex((LOCALHOST, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered on port {port}")


def _time(cursor: Any, statement: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        cursor.execute(statement)
        cursor.fetchall()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    fakesnow_port = free_port(LOCALHOST, avoid=make_up_ports())
    fakesnow_bin = Path(sys.executable).parent / "fakesnow"
    fakesnow = subprocess.Popen(
        [str(fakesnow_bin), "-s", "--host", LOCALHOST, "-p", str(fakesnow_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(fakesnow_port)
        with running_snowlocal() as endpoint:
            local = snowflake.connector.connect(**endpoint.connect_kwargs())
            plain = snowflake.connector.connect(
                account="fakesnow",
                host=LOCALHOST,
                port=fakesnow_port,
                protocol="http",
                user="fake",
                password="fake",
                database="BENCH",
                schema="PUBLIC",
                session_parameters={"nop_regexes": ["^GRANT .*"]},
            )
            lc, pc = local.cursor(), plain.cursor()
            lc.execute("CREATE DATABASE BENCH")
            lc.execute("CREATE ROLE BENCH_READER")
            grant = "GRANT USAGE ON DATABASE BENCH TO ROLE BENCH_READER"
            samples: dict[str, dict[str, list[float]]] = {
                "select_1": {"snowlocal": [], "fakesnow": []},
                "grant": {"snowlocal": [], "fakesnow": []},
            }
            # Warm both servers (imports, first parse) before measuring.
            _time(lc, "SELECT 1", 20)
            _time(pc, "SELECT 1", 20)
            for _ in range(ROUNDS // BLOCK):
                samples["select_1"]["snowlocal"] += _time(lc, "SELECT 1", BLOCK)
                samples["select_1"]["fakesnow"] += _time(pc, "SELECT 1", BLOCK)
                samples["grant"]["snowlocal"] += _time(lc, grant, BLOCK)
                samples["grant"]["fakesnow"] += _time(pc, grant, BLOCK)
            local.close()
            plain.close()
    finally:
        fakesnow.terminate()
        fakesnow.wait(timeout=30)

    report: dict[str, Any] = {
        "what": "median seconds per connector round trip, snowlocal vs plain fakesnow, same run",
        "rounds": ROUNDS,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    for name, by_server in samples.items():
        medians = {server: statistics.median(values) for server, values in by_server.items()}
        report[name] = {
            "snowlocal_median_ms": round(medians["snowlocal"] * 1000, 3),
            "fakesnow_median_ms": round(medians["fakesnow"] * 1000, 3),
            "ratio": round(medians["snowlocal"] / medians["fakesnow"], 3),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
