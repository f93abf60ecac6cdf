"""`snowlocal serve`: run a local Snowflake account for snowflake-connector-python."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

app = typer.Typer(add_completion=False, help="snowlocal: a local Snowflake account.")


@app.callback()
def main() -> None:
    """snowlocal commands."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep objects, data and grants here across restarts (default: in memory)."),
    ] = None,
    admin_user: Annotated[str, typer.Option(envvar="SNOWLOCAL_ADMIN_USER", help="Bootstrap user.")] = "ADMIN",
    admin_password: Annotated[
        str, typer.Option(envvar="SNOWLOCAL_ADMIN_PASSWORD", help="Bootstrap user's password.")
    ] = "admin",  # noqa: S107 - the documented login of a local test account
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    edition: Annotated[
        str,
        typer.Option(help="The account's edition: enterprise (masking policies) or standard (none)."),
    ] = "enterprise",
) -> None:
    """Serve the connector's HTTP protocol (connect with host, port and protocol='http')."""
    from snowlocal.engine import Snowlocal
    from snowlocal.server import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    if edition not in ("enterprise", "standard"):
        raise typer.BadParameter("enterprise or standard", param_hint="--edition")
    engine = Snowlocal(
        data_dir=data_dir, admin_user=admin_user, admin_password=admin_password, edition=edition
    )
    typer.echo(f"snowlocal listening on http://{host}:{port} (user {admin_user.upper()})", err=True)
    uvicorn.run(create_app(engine), host=host, port=port, log_level=log_level, access_log=False)
