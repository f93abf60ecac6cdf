"""``meshctl``: the mesh's command line.

Every command says what went wrong in one line on stderr and exits 1 for invalid input or an
unreachable dependency; usage mistakes exit 2 (the parser's own message). No tracebacks.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from meshplane.common.events import (
    AUDIT_TOPIC,
    CATALOG_TOPIC,
    EventData,
    KafkaRecord,
    ProductCreated,
    ProductRetired,
    ProductUpdated,
    domain_topic,
    encode,
)
from meshplane.common.telemetry import configure_tracing, get_tracer, inject_headers
from meshplane.meshctl import SOURCE, __version__, access, docs
from meshplane.meshctl.catalog import describe_entry, load_catalog, one_line, require
from meshplane.meshctl.contracts import describe, load_contract, one_line_validation_error
from meshplane.meshctl.doctor import diagnose
from meshplane.meshctl.errors import MeshctlError
from meshplane.meshctl.kafka import produce, read_topic
from meshplane.meshctl.planning import (
    describe_observed,
    make_plan,
    observe_online,
    plan_offline,
    snowflake_settings,
)
from meshplane.meshctl.services import SERVICES
from meshplane.meshctl.timeline import Timeline

__all__ = ["app", "main"]

app = typer.Typer(
    name="meshctl",
    help="Validate, publish and plan data products; tail the mesh's audit trail; generate the event docs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
audit_app = typer.Typer(
    help="Read the mesh's audit trail (mesh.audit).", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(audit_app, name="audit")
catalog_app = typer.Typer(
    help="The products the mesh knows (mesh.catalog).", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(catalog_app, name="catalog")
access_app = typer.Typer(
    help="Ask for access to a product, decide as its owner, end a grant (mesh.<domain>.access).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(access_app, name="access")

_DEFAULT_BOOTSTRAP = "127.0.0.1:9092"

BootstrapServers = Annotated[
    str,
    typer.Option(
        "--bootstrap-servers",
        envvar="MESH_KAFKA_BOOTSTRAP_SERVERS",
        help="Kafka brokers, host:port[,host:port…].",
    ),
]
Source = Annotated[str, typer.Option("--source", help="The CloudEvents source of what meshctl publishes.")]
ContractFile = Annotated[
    Path,
    typer.Argument(
        metavar="FILE", help="An ODCS v3 data contract, YAML or JSON.", dir_okay=False, show_default=False
    ),
]


class ContractEvent(StrEnum):
    created = "created"
    updated = "updated"


def _fail(message: str) -> NoReturn:
    typer.echo(f"meshctl: {' '.join(message.split())}", err=True)
    raise typer.Exit(1)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Turn every failure into one line on stderr and exit code 1."""
    try:
        yield
    except typer.Exit:
        raise
    except MeshctlError as exc:
        _fail(exc.message)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:  # the promise is no tracebacks, whatever failed
        _fail(f"unexpected error: {type(exc).__name__}: {exc}")


def _published(record: KafkaRecord, event_id: str) -> None:
    where = f"topic={record.topic} partition={record.partition} offset={record.offset}"
    typer.echo(f"published: {where} ce_id={event_id}")


def _event_id(record: KafkaRecord) -> str:
    value = record.header("ce_id")
    return value.decode() if value else "-"


@app.command()
def validate(file: ContractFile) -> None:
    """Check a data contract against ODCS v3 and the mesh's rules (names, types, budget)."""
    with _one_line_errors():
        loaded = load_contract(file)
        typer.echo(f"ok: {describe(loaded.mesh)}")


def _publish(data: EventData, *, topic: str, source: str, bootstrap_servers: str) -> None:
    """Produce ``data`` inside a PRODUCER span whose context travels in the record's ``traceparent``,
    so a trace starts at the publisher, not at the first service."""
    provider = configure_tracing(SOURCE.strip("/"), __version__)
    with get_tracer().start_as_current_span(
        f"publish {data.EVENT_TYPE}",
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic},
    ):
        record = encode(data, topic=topic, source=source, extra_headers=inject_headers())
        written = asyncio.run(produce(record, bootstrap_servers=bootstrap_servers))
    provider.force_flush()  # a short-lived CLI: export the span (if a collector is set) before exiting
    _published(written, _event_id(record))


@app.command()
def publish(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="ODCS v3 data contracts, YAML or JSON; all are checked before any is published.",
            dir_okay=False,
            show_default=False,
        ),
    ],
    event: Annotated[
        ContractEvent, typer.Option("--event", help="Publish as product.created or product.updated.")
    ] = ContractEvent.created,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    source: Source = SOURCE,
) -> None:
    """Validate data contracts and publish each on its domain's topic (mesh.<domain>.product), in order."""
    with _one_line_errors():
        loaded = [load_contract(file) for file in files]  # each error names its file
        model = ProductCreated if event is ContractEvent.created else ProductUpdated
        for contract in loaded:
            topic = domain_topic(contract.mesh.domain, "product")
            _publish(
                model(contract=contract.odcs), topic=topic, source=source, bootstrap_servers=bootstrap_servers
            )


@app.command()
def retire(
    domain: Annotated[str, typer.Argument(help="The product's domain, e.g. sales.")],
    product: Annotated[str, typer.Argument(help="The product, e.g. orders.")],
    major: Annotated[int, typer.Option("--major", help="The major version to retire.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the audit trail.")] = None,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    source: Source = SOURCE,
) -> None:
    """Publish product.retired for one major version of a product."""
    with _one_line_errors():
        try:
            data = ProductRetired(domain=domain, product=product, major=major, reason=reason)
        except ValidationError as exc:
            raise MeshctlError(one_line_validation_error(exc, prefix="not a valid retirement: ")) from None
        _publish(
            data, topic=domain_topic(domain, "product"), source=source, bootstrap_servers=bootstrap_servers
        )


async def _tail(topic: str, bootstrap_servers: str, *, follow: bool, from_beginning: bool) -> None:
    timeline = Timeline()
    if not follow:
        # A bounded read is shown in event-time order across the topic's partitions.
        collected: list[KafkaRecord] = []
        async for records in read_topic(
            topic, bootstrap_servers=bootstrap_servers, from_beginning=from_beginning
        ):
            collected.extend(records)
        for line in timeline.lines(collected, by_time=True):
            typer.echo(line)
        return
    async for records in read_topic(
        topic, bootstrap_servers=bootstrap_servers, from_beginning=from_beginning, follow=True
    ):
        for line in timeline.lines(records, by_time=True):
            typer.echo(line)
        sys.stdout.flush()


@audit_app.command("tail")
def audit_tail(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep reading new events (Ctrl-C stops).")
    ] = False,
    since_beginning: Annotated[
        bool,
        typer.Option(
            "--since-beginning/--since-now", help="Start at the topic's first event, or only show new ones."
        ),
    ] = True,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    topic: Annotated[str, typer.Option("--topic", help="The audit topic.", hidden=True)] = AUDIT_TOPIC,
) -> None:
    """Print the audit trail as a timeline: time, type, product, summary, short ce_id (replays once)."""
    with _one_line_errors():
        asyncio.run(_tail(topic, bootstrap_servers, follow=follow, from_beginning=since_beginning))


CatalogTopic = Annotated[str, typer.Option("--topic", help="The catalog topic.", hidden=True)]
ProductId = Annotated[str, typer.Argument(metavar="PRODUCT", help="A product id, <domain>.<product>.")]


@catalog_app.command("list")
def catalog_list(
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP, topic: CatalogTopic = CATALOG_TOPIC
) -> None:
    """Every product: versions and lifecycle, owner, classifications, the views to query."""
    with _one_line_errors():
        catalog = asyncio.run(load_catalog(bootstrap_servers, topic))
        if not len(catalog):
            typer.echo("the catalog is empty: no product has been provisioned")
        for entry in catalog.entries():
            typer.echo(one_line(entry))


@catalog_app.command("show")
def catalog_show(
    product: ProductId,
    contracts: Annotated[bool, typer.Option("--contracts", help="Include each version's contract.")] = False,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    topic: CatalogTopic = CATALOG_TOPIC,
) -> None:
    """One product's entry, as YAML."""
    with _one_line_errors():
        catalog = asyncio.run(load_catalog(bootstrap_servers, topic))
        typer.echo(describe_entry(require(catalog, product), contracts=contracts), nl=False)


@catalog_app.command("search")
def catalog_search(
    text: Annotated[
        str, typer.Argument(help="Text in a product's id, owner, description, ports or columns.")
    ],
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    topic: CatalogTopic = CATALOG_TOPIC,
) -> None:
    """Products whose id, owner, description, port or column names contain TEXT (any case)."""
    with _one_line_errors():
        found = asyncio.run(load_catalog(bootstrap_servers, topic)).search(text)
        if not found:
            _fail(f"no product matches {text!r}")
        for entry in found:
            typer.echo(one_line(entry))


Major = Annotated[int, typer.Option("--major", help="The product's major version.")]
NewRequestId = Annotated[str | None, typer.Option("--request-id", help="Default: a new UUID.")]


@access_app.command("request")
def access_request(
    product: ProductId,
    as_domain: Annotated[
        str, typer.Option("--as", help="The domain asking (publishes on mesh.<it>.access).")
    ],
    duration: Annotated[str, typer.Option("--duration", help="How long, ISO 8601 (e.g. P30D).")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why, for the owner and the audit trail.")],
    account: Annotated[
        str | None,
        typer.Option("--account", help="For an outside Snowflake account ORG.ACCOUNT it sponsors."),
    ] = None,
    major: Major = 1,
    request_id: NewRequestId = None,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    source: Source = SOURCE,
) -> None:
    """Ask for read access to PRODUCT, for the asking domain or an outside account; prints the request id."""
    with _one_line_errors():
        event, topic = access.request(
            product,
            as_domain=as_domain,
            account=account,
            major=major,
            duration=duration,
            purpose=purpose,
            request_id=request_id,
        )
        _publish(event, topic=topic, source=source, bootstrap_servers=bootstrap_servers)
        typer.echo(f"request_id={event.request_id}")


@access_app.command("decide")
def access_decide(
    product: ProductId,
    request_id: Annotated[str, typer.Argument(help="The pending request's id.")],
    approve: Annotated[bool, typer.Option("--approve/--deny", help="Approve or deny the request.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit trail.")],
    duration: Annotated[
        str | None, typer.Option("--duration", help="Approve for less than asked, ISO 8601.")
    ] = None,
    major: Major = 1,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    source: Source = SOURCE,
) -> None:
    """As PRODUCT's owner, approve or deny a pending request (published on the owner's topic)."""
    with _one_line_errors():
        event, topic = access.decision(
            product, request_id, approve=approve, reason=reason, major=major, duration=duration
        )
        _publish(event, topic=topic, source=source, bootstrap_servers=bootstrap_servers)


@access_app.command("revoke")
def access_revoke(
    product: ProductId,
    as_domain: Annotated[str, typer.Option("--as", help="The domain asking: the owner or the consumer.")],
    consumer: Annotated[str | None, typer.Option("--consumer", help="The consumer domain.")] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Or the outside account ORG.ACCOUNT.")
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, for the audit trail.")] = None,
    major: Major = 1,
    request_id: NewRequestId = None,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    source: Source = SOURCE,
) -> None:
    """End a consumer's access to PRODUCT now."""
    with _one_line_errors():
        event, topic = access.revocation(
            product,
            as_domain=as_domain,
            consumer_domain=consumer,
            account=account,
            major=major,
            reason=reason,
            request_id=request_id,
        )
        _publish(event, topic=topic, source=source, bootstrap_servers=bootstrap_servers)


@app.command()
def lineage(
    product: ProductId,
    mermaid: Annotated[bool, typer.Option("--mermaid", help="A Mermaid flowchart instead of text.")] = False,
    bootstrap_servers: BootstrapServers = _DEFAULT_BOOTSTRAP,
    topic: CatalogTopic = CATALOG_TOPIC,
) -> None:
    """What PRODUCT is built from (upstream) and what is built from it (downstream), from the catalog."""
    with _one_line_errors():
        catalog = asyncio.run(load_catalog(bootstrap_servers, topic))
        require(catalog, product)
        found = catalog.lineage(product)
        typer.echo(found.mermaid() if mermaid else found.text(), nl=False)


@app.command()
def plan(
    file: ContractFile,
    offline: Annotated[
        bool, typer.Option("--offline", help="Plan as if nothing existed (no Snowflake connection).")
    ] = False,
    event: Annotated[
        ContractEvent, typer.Option("--event", help="Plan product.created or product.updated.")
    ] = ContractEvent.created,
    service_role: Annotated[
        str | None,
        typer.Option(
            "--service-role",
            help="The provisioner's role (default: MESH_SNOWFLAKE_ROLE online, MESH_PROVISIONER offline).",
        ),
    ] = None,
) -> None:
    """Print the SQL the provisioner would run for a contract now; executes nothing but SHOW."""
    with _one_line_errors():
        loaded = load_contract(file)
        updated = event is ContractEvent.updated
        if offline:
            typer.echo(
                plan_offline(loaded.mesh, updated=updated, service_role=service_role).compile(), nl=False
            )
            return
        settings = snowflake_settings()
        observed, cost = asyncio.run(observe_online(loaded.mesh, settings))
        result = make_plan(loaded.mesh, observed, updated=updated, service_role=service_role or settings.role)
        typer.echo(
            f"-- observed with SHOW in {cost.round_trips} request(s), waking no warehouse: "
            f"{describe_observed(observed)}"
        )
        typer.echo(result.compile(), nl=False)


@app.command()
def doctor(
    service: Annotated[
        str,
        typer.Option("--service", help="Which service's identity MESH_SNOWFLAKE_* is (its needs differ)."),
    ] = "provisioner",
) -> None:
    """Check a Snowflake account for a service, as its identity (MESH_SNOWFLAKE_*); SHOW only."""
    with _one_line_errors():
        known = {spec.name: spec for spec in SERVICES}
        if service not in known:
            raise MeshctlError(f"no service {service!r}; one of {', '.join(sorted(known))}")
        findings = diagnose(known[service], snowflake_settings())
        for finding in findings:
            typer.echo(finding.line())
        failed = sum(1 for f in findings if f.level == "FAIL")
        if failed:
            _fail(f"{failed} check(s) failed: the {service} cannot run as this identity on this account yet")


@app.command("docs")
def docs_command(
    write: Annotated[bool, typer.Option("--write", help="Write the generated files.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 listing generated files that are stale.")
    ] = False,
    root: Annotated[
        Path | None,
        typer.Option("--root", help="The repository root (default: the workspace above the current folder)."),
    ] = None,
) -> None:
    """Generate docs/events/*.schema.json from the event models (--write), or check them (--check)."""
    if write == check:
        raise typer.BadParameter("give exactly one of --write or --check")
    with _one_line_errors():
        base = root or docs.find_root(Path.cwd())
        if base is None:
            raise MeshctlError(
                "no workspace root here (a pyproject.toml with [tool.uv.workspace]); use --root"
            )
        if write:
            for path in docs.write(base):
                typer.echo(f"wrote {path}" if (base / path).exists() else f"removed {path}")
            return
        stale = docs.check(base)
        if stale:
            _fail(f"stale generated docs (run `meshctl docs --write`): {', '.join(stale)}")
        typer.echo(f"ok: {len(docs.render_all())} generated files are up to date")


def main() -> None:
    """The ``meshctl`` console script."""
    app()
