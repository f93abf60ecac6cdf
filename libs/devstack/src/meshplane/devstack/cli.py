"""``devstack``: start, stop and inspect the local stack (what ``make up / down / status`` run).

A thin shell over :mod:`meshplane.devstack.stack`: parse options, call, print. Failures are
:class:`~meshplane.devstack.errors.DevstackError` and are printed as one line with exit code 1.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from meshplane.devstack import stack
from meshplane.devstack.endpoints import SNOWLOCAL_ACCOUNT, SNOWLOCAL_PASSWORD, SNOWLOCAL_USER
from meshplane.devstack.errors import DevstackError
from meshplane.devstack.kafka import ensure_kafka_libs, kafka_version
from meshplane.devstack.net import LOCALHOST
from meshplane.devstack.paths import default_state_dir
from meshplane.devstack.process import ProcessRecord

app = typer.Typer(
    help="Start, stop and inspect Meshplane's local stack: the Kafka broker and snowlocal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir", help="Where pids, logs and data are kept (default: the repository's .stack/)."
    ),
]


@app.callback()
def _main() -> None:
    # Progress (like the one-time Maven fetch) is logged; show it plainly on stderr.
    logging.basicConfig(level=logging.INFO, format="devstack: %(message)s")


def _fail(error: DevstackError) -> typer.Exit:
    typer.echo(f"devstack: error: {error}", err=True)
    return typer.Exit(1)


def _shown(path: str | Path) -> str:
    """A path relative to the working directory when it is inside it (shorter to read)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _address(record: ProcessRecord) -> str:
    return f"http://{record.address}" if record.probe == "http" else record.address


def _print_how_to_reach(records: list[ProcessRecord]) -> None:
    by_name = {record.name: record for record in records}
    exports = []
    typer.echo("")
    if (kafka := by_name.get("kafka")) is not None:
        typer.echo(f"Kafka      bootstrap servers {kafka.address}  (PLAINTEXT, no auth)")
        exports.append(f"export KAFKA_BOOTSTRAP_SERVERS={kafka.address}")
    if (snow := by_name.get("snowlocal")) is not None:
        typer.echo(
            f"snowlocal  {_address(snow)}  host {snow.host}, port {snow.port}, protocol http, "
            f"account {SNOWLOCAL_ACCOUNT}, user {SNOWLOCAL_USER}, password {SNOWLOCAL_PASSWORD}"
        )
        exports.append(f"export SNOWLOCAL_URL={_address(snow)}")
    if (opa := by_name.get("opa")) is not None:
        typer.echo(f"OPA        {_address(opa)}  serving deploy/policies (REST API, no auth)")
        exports.append(f"export OPA_URL={_address(opa)} MESH_POLICY_URL={_address(opa)}")
    if exports:
        typer.echo("\nTo point tests, services and tools at this stack:")
        for line in exports:
            typer.echo(f"  {line}")


@app.command()
def up(
    kafka_port: Annotated[int, typer.Option(help="Kafka's client (PLAINTEXT) port.")] = 9092,
    kafka_controller_port: Annotated[
        int | None, typer.Option(help="Kafka's KRaft controller port (default: the Kafka port + 1).")
    ] = None,
    snowlocal_port: Annotated[int, typer.Option(help="snowlocal's HTTP port.")] = 8765,
    opa_port: Annotated[int, typer.Option(help="Open Policy Agent's HTTP port (0: do not start it).")] = 8181,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = LOCALHOST,
    state_dir: StateDirOption = None,
) -> None:
    """Start Kafka, snowlocal and OPA in the background and wait until each answers."""
    try:
        folder = state_dir or default_state_dir()
        services = stack.stack_services(
            folder,
            kafka_port=kafka_port,
            kafka_controller_port=kafka_controller_port or kafka_port + 1,
            snowlocal_port=snowlocal_port,
            opa_port=opa_port or None,
            host=host,
        )
        result = stack.up(folder, services)
    except DevstackError as error:
        raise _fail(error) from None
    if not result.started:
        typer.echo(f"The local stack is already running (pids in {_shown(folder)}); nothing started.")
    for record in result.already_running:
        if result.started:
            typer.echo(f"{record.name:<10} already running  pid {record.pid}  {_address(record)}")
    for record in result.started:
        typer.echo(
            f"{record.name:<10} started  pid {record.pid}  {_address(record)}  log {_shown(record.log_path)}"
        )
    _print_how_to_reach([*result.already_running, *result.started])


@app.command()
def down(state_dir: StateDirOption = None) -> None:
    """Stop what `devstack up` started (and only that), and remove its pid files."""
    try:
        folder = state_dir or default_state_dir()
        outcomes = stack.down(folder)
    except DevstackError as error:
        raise _fail(error) from None
    if not outcomes:
        typer.echo(f"Nothing is running: no pid files in {_shown(folder)}.")
    for outcome in outcomes:
        pid = f"pid {outcome.record.pid}" if outcome.record else "unreadable pid file"
        if outcome.stopped:
            typer.echo(f"{outcome.name:<10} stopped ({pid})")
        else:
            typer.echo(f"{outcome.name:<10} was not running ({pid} is gone); pid file removed")


@app.command()
def status(state_dir: StateDirOption = None) -> None:
    """Say what of the local stack runs, where, and whether it answers."""
    try:
        folder = state_dir or default_state_dir()
        statuses = stack.status(folder)
    except DevstackError as error:
        raise _fail(error) from None
    if not statuses:
        typer.echo(f"Nothing is running: no pid files in {_shown(folder)}. Start the stack with `make up`.")
    for entry in statuses:
        record = entry.record
        if record is None:
            typer.echo(f"{entry.name:<10} unknown (unreadable pid file; `devstack down` removes it)")
        elif not entry.running:
            typer.echo(f"{entry.name:<10} not running (pid {record.pid} is gone; `devstack down` cleans up)")
        else:
            answer = "answering" if entry.answering else "NOT answering"
            typer.echo(
                f"{entry.name:<10} running  pid {record.pid}  {_address(record)}  {answer}"
                f"  log {_shown(record.log_path)}"
            )


@app.command("fetch-kafka")
def fetch_kafka() -> None:
    """Fetch the Kafka broker's jars into .cache/ now (done on first start otherwise)."""
    try:
        libs = ensure_kafka_libs()
    except DevstackError as error:
        raise _fail(error) from None
    jars = len(list(libs.glob("*.jar")))
    typer.echo(f"Kafka {kafka_version()}: {jars} jars in {_shown(libs)}")
