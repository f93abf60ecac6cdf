"""The local Apache Kafka broker: the real 4.x broker run from its jars with ``java``.

* **Jars.** ``deploy/kafka/pom.xml`` pins the Kafka version and lists what the release tarball's
  ``libs/`` holds. Maven copies them once into ``.cache/kafka/<version>/libs``; later runs check a
  manifest and start straight away.
* **Config.** ``deploy/kafka/server.properties`` holds the single-node settings; this module
  appends the ports, node id and data folder of the run. ``deploy/kafka/log4j2.xml`` sends the log
  to a file.
* **Storage.** KRaft needs a formatted data folder. It is formatted with Kafka's StorageTool on the
  first start only (``meta.properties`` present means formatted), with a static one-voter quorum
  so a later start on other ports needs no re-format.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from meshplane.devstack.endpoints import KafkaEndpoint
from meshplane.devstack.errors import DevstackError
from meshplane.devstack.launch import ServiceSpec, running
from meshplane.devstack.net import LOCALHOST, free_ports, make_up_ports
from meshplane.devstack.paths import cache_dir, kafka_deploy_dir

log = logging.getLogger(__name__)

NODE_ID = 1
# Enough for a handful of test topics and the services; Kafka's own default is 1 GB.
DEFAULT_HEAP = "512m"
_MANIFEST = "meshplane-manifest.json"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def kafka_version(pom: Path | None = None) -> str:
    """The Kafka version pinned in ``deploy/kafka/pom.xml`` (the one place it is written down)."""
    pom = pom or kafka_deploy_dir() / "pom.xml"
    # Our own file from the repository, not untrusted input.
    version = ET.parse(pom).findtext(  # noqa: S314
        "m:properties/m:kafka.version", namespaces=_POM_NS
    )
    if not version:
        raise DevstackError(f"{pom} has no <kafka.version> property")
    return version.strip()


def _manifest_ok(libs: Path, pom_digest: str) -> bool:
    """Whether ``libs`` holds a complete copy made from this very pom."""
    try:
        manifest = json.loads((libs / _MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    jars = manifest.get("jars", [])
    complete = bool(jars) and all((libs / jar).is_file() for jar in jars)
    return complete and manifest.get("pom_sha256") == pom_digest


def _last_maven_error(output: str) -> str:
    errors = [line.strip() for line in output.splitlines() if line.strip().startswith("[ERROR]")]
    return errors[0] if errors else (output.strip().splitlines() or ["(no output)"])[-1]


def kafka_libs_dir() -> Path:
    """``.cache/kafka/<version>/libs``: where the pinned version's jars are kept."""
    return cache_dir() / "kafka" / kafka_version() / "libs"


def ensure_kafka_libs() -> Path:
    """The folder of the broker's jars, fetched with Maven when not already complete in the cache."""
    pom = kafka_deploy_dir() / "pom.xml"
    version = kafka_version(pom)
    libs = kafka_libs_dir()
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _manifest_ok(libs, digest):
        return libs

    mvn = shutil.which("mvn")
    if mvn is None:
        raise DevstackError(f"mvn not found on PATH: Maven is needed once to fetch Kafka {version}'s jars")
    log.info("fetching the jars of Kafka %s with Maven into %s (first run only)", version, libs)
    libs.parent.mkdir(parents=True, exist_ok=True)
    # Copy into a private folder and rename it into place only when complete, so an interrupted
    # fetch is never mistaken for a cache, and two concurrent first runs cannot mix their files.
    partial = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=libs.parent))
    try:
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={partial}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DevstackError(
                f"Maven could not fetch Kafka {version}: {_last_maven_error(result.stdout + result.stderr)}"
            )
        jars = sorted(path.name for path in partial.glob("*.jar"))
        if f"kafka_2.13-{version}.jar" not in jars:
            raise DevstackError(f"Maven ran but kafka_2.13-{version}.jar is not among the fetched jars")
        (partial / _MANIFEST).write_text(json.dumps({"pom_sha256": digest, "jars": jars}, indent=2))
        if libs.exists() and not _manifest_ok(libs, digest):
            shutil.rmtree(libs)  # stale (the pom changed) or incomplete
        try:
            partial.rename(libs)
        except OSError:
            # Another first run finished first; its copy is as good as ours.
            if not _manifest_ok(libs, digest):
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return libs


def _jvm_options(heap: str, log_path: Path) -> list[str]:
    return [
        f"-Xmx{heap}",
        "-Xms64m",
        # One GC thread and the fast-starting JIT tier only: the broker shares a laptop or a
        # two-core CI runner with the services and tests, and is restarted far more often than
        # it needs peak throughput.
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={kafka_deploy_dir() / 'log4j2.xml'}",
        f"-Dmeshplane.kafka.log={log_path}",
    ]


def _new_cluster_id() -> str:
    """A random cluster id in Kafka's format: 16 bytes, URL-safe base64 without padding."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        # Kafka never generates ids starting with "-": they would read as an option on its CLI.
        if not cluster_id.startswith("-"):
            return cluster_id


def write_config(path: Path, *, host: str, port: int, controller_port: int, data_dir: Path) -> None:
    """Write the broker's properties: the repository's base config plus this run's specifics."""
    # A broker bound to every interface is still reached, and reaches its controller, on loopback.
    reach = LOCALHOST if host in ("0.0.0.0", "") else host  # noqa: S104 - comparing, not binding
    base = (kafka_deploy_dir() / "server.properties").read_text()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        base
        + "\n# Written by meshplane.devstack.kafka for this run.\n"
        + f"node.id={NODE_ID}\n"
        + f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}\n"
        + f"advertised.listeners=PLAINTEXT://{reach}:{port}\n"
        + f"controller.quorum.voters={NODE_ID}@{reach}:{controller_port}\n"
        + f"log.dirs={data_dir}\n"
    )


def format_storage(libs: Path, config: Path, data_dir: Path, log_path: Path) -> None:
    """Format ``data_dir`` for KRaft unless it already is (then keep its topics and offsets)."""
    if (data_dir / "meta.properties").is_file():
        return
    java = shutil.which("java")
    if java is None:
        raise DevstackError("java not found on PATH: the Kafka broker needs Java 17 or newer")
    result = subprocess.run(
        [
            java,
            *_jvm_options("256m", log_path),
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _new_cluster_id(),
            "--config",
            str(config),
            # A formatted folder (say, from an interrupted first start) is kept as it is.
            "--ignore-formatted",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        raise DevstackError(f"formatting Kafka storage in {data_dir} failed: {output[-1] if output else ''}")


def kafka_service(
    *,
    state_dir: Path,
    port: int,
    controller_port: int,
    host: str = LOCALHOST,
    heap: str = DEFAULT_HEAP,
    name: str = "kafka",
) -> ServiceSpec:
    """The broker as a service of the launcher, keeping its files in ``state_dir``.

    ``<name>-data/`` (topics), ``<name>.properties``, ``<name>.log`` (log4j2) and ``<name>.out``
    (the JVM's own stdout and stderr: crashes before logging starts). Fetching the jars, writing
    the config and formatting happen in ``prepare``, i.e. only when the broker is really started.
    """
    data_dir = state_dir / f"{name}-data"
    config = state_dir / f"{name}.properties"
    log_path = state_dir / f"{name}.log"
    libs = kafka_libs_dir()

    def prepare() -> None:
        ensure_kafka_libs()
        write_config(config, host=host, port=port, controller_port=controller_port, data_dir=data_dir)
        format_storage(libs, config, data_dir, log_path)

    return ServiceSpec(
        name=name,
        argv=("java", *_jvm_options(heap, log_path), "-cp", f"{libs}/*", "kafka.Kafka", str(config)),
        host=host,
        port=port,
        probe="kafka",
        log_path=log_path,
        console_path=state_dir / f"{name}.out",
        extra_ports=(controller_port,),
        prepare=prepare,
    )


@contextmanager
def running_kafka(
    *,
    host: str = LOCALHOST,
    port: int | None = None,
    controller_port: int | None = None,
    work_dir: Path | None = None,
) -> Iterator[KafkaEndpoint]:
    """Run a fresh broker for the ``with`` block (free ports and a temp folder unless given)."""
    with ExitStack() as stack:
        if work_dir is None:
            work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meshplane-kafka-")))
        avoid = make_up_ports() | {p for p in (port, controller_port) if p is not None}
        spare = iter(free_ports(2, host, avoid))
        port = port if port is not None else next(spare)
        controller_port = controller_port if controller_port is not None else next(spare)
        stack.enter_context(
            running(kafka_service(state_dir=work_dir, port=port, controller_port=controller_port, host=host))
        )
        yield KafkaEndpoint(host, port)


async def ensure_topics(bootstrap: str, *topics: str, partitions: int = 1) -> None:
    """Create those of ``topics`` that do not exist yet (for tests and benchmarks that publish first).

    Creating a topic that another client created meanwhile is not an error here.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(topic, num_partitions=partitions, replication_factor=1)
            for topic in topics
            if topic not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


@contextmanager
def broker_for_run() -> Iterator[tuple[str, str]]:
    """``KAFKA_BOOTSTRAP_SERVERS`` when set, else a fresh broker for the block: (bootstrap, which one)."""
    from_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if from_env:
        yield from_env, "KAFKA_BOOTSTRAP_SERVERS"
        return
    with running_kafka() as broker:
        yield broker.bootstrap_servers, "own broker (meshplane.devstack.kafka.running_kafka)"


def machine() -> dict[str, object]:
    """What a benchmark ran on, for its results file."""
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
