"""docker-compose.yml agrees with the code it runs, checked without a Docker engine.

The compose file is parsed as YAML and read against the services' pydantic-settings classes, the
Makefile's local ports and snowlocal's command line: a variable the settings do not read, a
required setting left out, a bootstrap address pointing at no listener, or a port published
somewhere else than the service listens are all caught here instead of at ``docker compose up``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from meshplane.common.settings import HttpSettings, KafkaSettings, LogSettings, PolicySettings, RetrySettings
from meshplane.common.snowflake.settings import SnowflakeSettings
from meshplane.provisioner.service import SERVICE as PROVISIONER
from meshplane.provisioner.settings import ProvisionerSettings
from meshplane.sharing.settings import SharingSettings

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "docker-compose.yml"

#: Each Meshplane service in the compose file, and the settings classes its configuration reads.
#: A new service joins here (the test below refuses a MESH_* variable in a service not listed).
APP_SETTINGS: dict[str, tuple[type[BaseSettings], ...]] = {
    "provisioner": (
        ProvisionerSettings,
        KafkaSettings,
        SnowflakeSettings,
        HttpSettings,
        RetrySettings,
        LogSettings,
    ),
    "sharing": (
        SharingSettings,
        KafkaSettings,
        SnowflakeSettings,
        HttpSettings,
        RetrySettings,
        LogSettings,
        PolicySettings,
    ),
}

#: The ways SnowflakeSettings accepts to authenticate; exactly one must be given.
SNOWFLAKE_AUTH_FIELDS = ("password", "private_key_path", "private_key_pem")

#: What a server in a container listens on so that other containers and published ports reach it.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

VALID_DEPENDS_ON_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


# --- reading the compose file ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    return loaded


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services = compose["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    found: dict[str, Any] = services[name]
    return found


def environment(svc: dict[str, Any]) -> dict[str, str]:
    """A service's environment as strings, from either of compose's two forms (mapping or list)."""
    env = svc.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {key: value for key, value in pairs}
    # Compose passes YAML numbers and booleans as their text; null means "take it from the shell".
    return {key: "" if value is None else _scalar_text(value) for key, value in env.items()}


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def command_args(svc: dict[str, Any]) -> list[str]:
    cmd = svc.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(arg) for arg in cmd]


def option(args: list[str], name: str) -> str:
    """The value of ``--name value`` or ``--name=value`` in a command line."""
    for i, arg in enumerate(args):
        if arg == name:
            assert i + 1 < len(args), f"{name} has no value in {args}"
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{name} is not in the command {args}")


@dataclass(frozen=True)
class PortMapping:
    host_ip: str | None
    published: int
    target: int


def port_mappings(svc: dict[str, Any]) -> list[PortMapping]:
    """A service's published ports, from the short (``[ip:]host:container``) or the long syntax."""
    mappings = []
    for entry in svc.get("ports") or []:
        if isinstance(entry, dict):
            mappings.append(PortMapping(entry.get("host_ip"), int(entry["published"]), int(entry["target"])))
            continue
        spec = str(entry).split("/", 1)[0]
        parts = spec.rsplit(":", 2)
        assert len(parts) >= 2, f"port {entry!r} publishes no fixed host port"
        host_ip = parts[0] if len(parts) == 3 else None
        mappings.append(PortMapping(host_ip, int(parts[-2]), int(parts[-1])))
    return mappings


def published_for(svc: dict[str, Any], target: int) -> PortMapping:
    found = [m for m in port_mappings(svc) if m.target == target]
    assert found, f"container port {target} is not published (ports: {svc.get('ports')})"
    assert len(found) == 1, f"container port {target} is published more than once: {found}"
    return found[0]


def healthcheck_text(svc: dict[str, Any]) -> str:
    check = svc.get("healthcheck") or {}
    assert not check.get("disable"), "the healthcheck is disabled"
    test = check.get("test")
    assert test, f"no healthcheck test in {svc}"
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


def makefile_default(variable: str) -> int:
    """The default of ``VARIABLE ?= value`` in the Makefile: the port `make up` uses."""
    match = re.search(rf"^{variable}\s*\?=\s*(\d+)\s*$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match, f"the Makefile sets no default for {variable}"
    return int(match.group(1))


def env_names(settings_class: type[BaseSettings]) -> set[str]:
    prefix = settings_class.model_config.get("env_prefix", "")
    return {f"{prefix}{field}".upper() for field in settings_class.model_fields}


def hostnames_of(compose: dict[str, Any], name: str) -> set[str]:
    """The names other containers reach a service by: its name, its hostname, its network aliases."""
    svc = service(compose, name)
    names = {name}
    if "hostname" in svc:
        names.add(svc["hostname"])
    networks = svc.get("networks")
    if isinstance(networks, dict):
        for network in networks.values():
            names.update((network or {}).get("aliases", []))
    return names


# --- the application services' environment --------------------------------------------------------


def test_only_known_services_set_mesh_variables(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        mesh = sorted(key for key in environment(svc) if key.startswith("MESH_"))
        if name not in APP_SETTINGS:
            assert not mesh, (
                f"service {name!r} sets {mesh} but is not in APP_SETTINGS, so nothing checks them"
            )


@pytest.mark.parametrize("app", sorted(APP_SETTINGS))
def test_every_mesh_variable_is_a_settings_field(compose: dict[str, Any], app: str) -> None:
    valid = set().union(*(env_names(cls) for cls in APP_SETTINGS[app]))
    env = environment(service(compose, app))
    unknown = sorted(key for key in env if key.startswith("MESH_") and key not in valid)
    assert not unknown, f"{app} sets variables no settings class reads: {unknown} (valid: {sorted(valid)})"


@pytest.mark.parametrize("app", sorted(APP_SETTINGS))
def test_every_required_setting_is_provided(compose: dict[str, Any], app: str) -> None:
    env = environment(service(compose, app))
    for settings_class in APP_SETTINGS[app]:
        prefix = settings_class.model_config.get("env_prefix", "")
        for field, info in settings_class.model_fields.items():
            if info.is_required():
                name = f"{prefix}{field}".upper()
                assert env.get(name), f"{app}: the required setting {name} is not set"
    auth = [f"MESH_SNOWFLAKE_{field.upper()}" for field in SNOWFLAKE_AUTH_FIELDS]
    given = [name for name in auth if env.get(name)]
    assert len(given) == 1, f"{app}: exactly one of {auth} must be set, found {given}"


@pytest.fixture
def clean_mesh_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    # Only the compose file's values may reach the settings, not the developer's shell.
    for name in list(os.environ):
        if name.startswith("MESH_"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_the_provisioner_environment_loads_into_its_config(
    compose: dict[str, Any], clean_mesh_environment: pytest.MonkeyPatch
) -> None:
    env = environment(service(compose, "provisioner"))
    for name, value in env.items():
        clean_mesh_environment.setenv(name, value)

    config = PROVISIONER.config_from_env()

    assert config.kafka.bootstrap_servers == env["MESH_KAFKA_BOOTSTRAP_SERVERS"]
    assert config.snowflake.host == env["MESH_SNOWFLAKE_HOST"]
    assert config.snowflake.port == int(env["MESH_SNOWFLAKE_PORT"])
    assert config.snowflake.protocol == "http"
    assert config.snowflake.password is not None
    assert config.http.port == int(env["MESH_HTTP_PORT"])
    assert config.group_id(PROVISIONER.name) == env["MESH_PROVISIONER_GROUP_ID"]


def test_the_provisioner_http_port_is_published_as_is(compose: dict[str, Any]) -> None:
    svc = service(compose, "provisioner")
    port = int(environment(svc)["MESH_HTTP_PORT"])
    mapping = published_for(svc, port)
    assert mapping.published == port, f"MESH_HTTP_PORT {port} is published as {mapping.published}"
    assert f":{port}/healthz" in healthcheck_text(svc), "the healthcheck does not probe MESH_HTTP_PORT"


# --- Kafka --------------------------------------------------------------------------------------


def parse_listeners(value: str) -> dict[str, tuple[str, int]]:
    """``NAME://host:port,...`` as {NAME: (host, port)}; an empty host means every interface."""
    listeners = {}
    for item in value.split(","):
        match = re.fullmatch(r"\s*([A-Za-z0-9_]+)://([^:]*):(\d+)\s*", item)
        assert match, f"not a listener: {item!r}"
        listeners[match.group(1)] = (match.group(2), int(match.group(3)))
    return listeners


@pytest.fixture(scope="module")
def kafka_env(compose: dict[str, Any]) -> dict[str, str]:
    return environment(service(compose, "kafka"))


def test_kafka_is_a_single_kraft_node_of_the_official_image(
    compose: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    image = service(compose, "kafka")["image"]
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert version, "deploy/kafka/pom.xml names no kafka.version"
    assert image == f"apache/kafka:{version.group(1)}", "compose and `make up` should run the same broker"
    assert set(kafka_env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    for name in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert kafka_env.get(name) == "1", f"{name} must be 1 on a single node"

    listeners = parse_listeners(kafka_env["KAFKA_LISTENERS"])
    controller_names = kafka_env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(",")
    voters = kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
    assert len(voters) == 1, "a single node votes alone"
    node, _, address = voters[0].partition("@")
    host, _, port = address.rpartition(":")
    assert node == kafka_env["KAFKA_NODE_ID"], "the only voter must be this node"
    assert host in hostnames_of(compose, "kafka") | {"localhost", "127.0.0.1"}
    assert any(listeners[name][1] == int(port) for name in controller_names), (
        f"the voter's port {port} is no controller listener's"
    )
    protocols = dict(item.split(":") for item in kafka_env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(protocols), "every listener needs a security protocol"


def client_listener_for(kafka_env: dict[str, str], host: str, port: int) -> str:
    """The listener a client that bootstraps from ``host:port`` ends up on, or an assertion error."""
    listeners = parse_listeners(kafka_env["KAFKA_LISTENERS"])
    advertised = parse_listeners(kafka_env["KAFKA_ADVERTISED_LISTENERS"])
    controllers = set(kafka_env["KAFKA_CONTROLLER_LISTENER_NAMES"].split(","))
    names = [name for name, address in advertised.items() if address == (host, port)]
    assert names, f"no advertised listener is {host}:{port} (advertised: {advertised})"
    (name,) = names
    assert name not in controllers, f"{host}:{port} is the controller listener, not one for clients"
    assert name in listeners, f"{name} is advertised but not in KAFKA_LISTENERS"
    assert listeners[name][1] == port, f"{name} listens on {listeners[name][1]} but advertises {port}"
    return name


def test_the_provisioner_bootstraps_from_a_listener_for_containers(
    compose: dict[str, Any], kafka_env: dict[str, str]
) -> None:
    servers = environment(service(compose, "provisioner"))["MESH_KAFKA_BOOTSTRAP_SERVERS"]
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        assert host in hostnames_of(compose, "kafka"), f"{host} is not the kafka service"
        client_listener_for(kafka_env, host, int(port))


def test_kafka_is_published_on_the_make_up_port(compose: dict[str, Any], kafka_env: dict[str, str]) -> None:
    # meshctl and `uv run` services bootstrap from 127.0.0.1:$KAFKA_PORT, whichever stack runs.
    port = makefile_default("KAFKA_PORT")
    mappings = [m for m in port_mappings(service(compose, "kafka")) if m.published == port]
    assert len(mappings) == 1, f"Kafka must be published on the host's port {port}"
    listeners = parse_listeners(kafka_env["KAFKA_LISTENERS"])
    host_listener = client_listener_for(kafka_env, "127.0.0.1", port)
    assert listeners[host_listener][1] == mappings[0].target, (
        f"the host's port {port} is published to container port {mappings[0].target}, "
        f"but the listener advertised as 127.0.0.1:{port} listens on {listeners[host_listener][1]}"
    )


# --- snowlocal and the bootstrap ------------------------------------------------------------------


def test_the_provisioner_reaches_snowlocal_where_it_listens(compose: dict[str, Any]) -> None:
    snowlocal = service(compose, "snowlocal")
    args = command_args(snowlocal)
    assert args[:1] == ["serve"], f"snowlocal's command should be `serve ...`, not {args}"
    assert option(args, "--host") == ALL_INTERFACES, "snowlocal must listen on every interface in a container"
    port = int(option(args, "--port"))

    env = environment(service(compose, "provisioner"))
    assert env["MESH_SNOWFLAKE_HOST"] in hostnames_of(compose, "snowlocal")
    assert int(env["MESH_SNOWFLAKE_PORT"]) == port

    mapping = published_for(snowlocal, port)
    assert mapping.published == makefile_default("SNOWLOCAL_PORT")
    assert f":{port}/healthz" in healthcheck_text(snowlocal)


def test_snowlocal_keeps_its_data_in_a_volume(compose: dict[str, Any]) -> None:
    snowlocal = service(compose, "snowlocal")
    data_dir = option(command_args(snowlocal), "--data-dir")
    targets = {
        str(volume).split(":")[1] for volume in snowlocal.get("volumes", []) if isinstance(volume, str)
    }
    assert data_dir in targets, f"--data-dir {data_dir} is not a mounted volume ({targets})"


def test_the_bootstrap_creates_the_identity_the_provisioner_logs_in_as(compose: dict[str, Any]) -> None:
    bootstrap = environment(service(compose, "bootstrap"))
    provisioner = environment(service(compose, "provisioner"))
    assert bootstrap["PROVISIONER_PASSWORD"] == provisioner["MESH_SNOWFLAKE_PASSWORD"]

    url = re.fullmatch(r"http://([^:/]+):(\d+)", bootstrap["SNOWLOCAL_URL"])
    assert url, f"SNOWLOCAL_URL is not http://host:port: {bootstrap['SNOWLOCAL_URL']!r}"
    assert url.group(1) in hostnames_of(compose, "snowlocal")
    assert int(url.group(2)) == int(option(command_args(service(compose, "snowlocal")), "--port"))


def test_the_bootstrap_script_is_mounted_where_its_entrypoint_looks(compose: dict[str, Any]) -> None:
    bootstrap = service(compose, "bootstrap")
    mounts = {}
    for volume in bootstrap.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        mounts[target] = source
    script = next(arg for arg in bootstrap["entrypoint"] if arg.endswith(".py"))
    for target, source in mounts.items():
        if script.startswith(target + "/"):
            local = REPO / source / script.removeprefix(target + "/")
            assert local.is_file(), f"the entrypoint runs {script}, which would be {local}: missing"
            break
    else:
        raise AssertionError(f"{script} is in no mounted folder ({mounts})")
    # devstack finds deploy/ from the working folder.
    assert (Path(bootstrap["working_dir"]) / "deploy").as_posix() in mounts


def test_the_bootstrap_sql_creates_the_provisioner_identity(compose: dict[str, Any]) -> None:
    sql_file = REPO / "deploy" / "snowflake" / "bootstrap.sql"
    if not sql_file.is_file():
        pytest.skip("deploy/snowflake/bootstrap.sql does not exist yet: nothing to compare the names to")
    sql = sql_file.read_text().upper()
    env = environment(service(compose, "provisioner"))
    for kind, name in (
        ("USER", env["MESH_SNOWFLAKE_USER"]),
        ("ROLE", env["MESH_SNOWFLAKE_ROLE"]),
        ("WAREHOUSE", env["MESH_SNOWFLAKE_WAREHOUSE"]),
    ):
        pattern = (
            rf"CREATE\s+(OR\s+REPLACE\s+)?{kind}\s+(IF\s+NOT\s+EXISTS\s+)?\"?{re.escape(name.upper())}\b"
        )
        assert re.search(pattern, sql), (
            f"bootstrap.sql does not create {kind} {name}, which the provisioner uses"
        )


def test_compose_and_make_up_run_the_provisioner_as_the_same_identity(compose: dict[str, Any]) -> None:
    # What devstack's bootstrap hands `make up`'s provisioner must be what compose's logs in with.
    from meshplane.devstack import bootstrap

    env = environment(service(compose, "provisioner"))
    assert env["MESH_SNOWFLAKE_USER"] == bootstrap.PROVISIONER_USER
    assert env["MESH_SNOWFLAKE_ROLE"] == bootstrap.PROVISIONER_ROLE
    assert env["MESH_SNOWFLAKE_WAREHOUSE"] == bootstrap.PROVISIONER_WAREHOUSE


# --- start-up order -------------------------------------------------------------------------------


def test_the_provisioner_waits_for_a_ready_stack(compose: dict[str, Any]) -> None:
    depends_on = service(compose, "provisioner").get("depends_on")
    assert isinstance(depends_on, dict), "the provisioner's depends_on must state conditions"
    assert depends_on.get("kafka", {}).get("condition") == "service_healthy"
    assert depends_on.get("snowlocal", {}).get("condition") == "service_healthy"
    assert depends_on.get("bootstrap", {}).get("condition") == "service_completed_successfully"
    bootstrap_needs = service(compose, "bootstrap").get("depends_on", {})
    assert bootstrap_needs.get("snowlocal", {}).get("condition") == "service_healthy"


def test_every_dependency_condition_can_be_met(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        depends_on = svc.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {dep: {"condition": "service_started"} for dep in depends_on}
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on {dependency}, which is no service"
            condition = spec.get("condition")
            assert condition in VALID_DEPENDS_ON_CONDITIONS, f"{name} -> {dependency}: {condition!r}"
            if condition == "service_healthy":
                healthcheck_text(services[dependency])  # a healthy state needs a healthcheck


# --- images ---------------------------------------------------------------------------------------


def test_services_are_built_from_stages_and_packages_that_exist(compose: dict[str, Any]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.MULTILINE | re.IGNORECASE))
    for name, svc in compose["services"].items():
        build = svc.get("build")
        if build is None:
            continue
        assert build.get("context", ".") == ".", f"{name} must build from the repository root"
        target = build.get("target")
        if target is not None:
            assert target in stages, f"{name} builds target {target!r}, which the Dockerfile lacks"
        app = (build.get("args") or {}).get("SERVICE")
        if app is not None:
            pyproject = REPO / "services" / app / "pyproject.toml"
            assert pyproject.is_file(), f"{name} builds SERVICE={app}, but {pyproject} does not exist"
            assert f'meshplane-{app} = "' in pyproject.read_text(), (
                f"services/{app} has no console script meshplane-{app}, the image's entrypoint"
            )


# --- sharing and its policy engine ------------------------------------------------------------------


def test_the_bootstrap_creates_the_identity_sharing_logs_in_as(compose: dict[str, Any]) -> None:
    bootstrap = environment(service(compose, "bootstrap"))
    sharing = environment(service(compose, "sharing"))
    assert bootstrap["SHARING_PASSWORD"] == sharing["MESH_SNOWFLAKE_PASSWORD"]
    script = (REPO / "deploy" / "snowflake" / "bootstrap-sharing.sql").read_text()
    for kind, name in (("USER", "USER"), ("ROLE", "ROLE"), ("WAREHOUSE", "WAREHOUSE")):
        assert f"CREATE {kind} IF NOT EXISTS {sharing[f'MESH_SNOWFLAKE_{name}']}" in script


def test_sharing_asks_the_opa_service_which_serves_the_projects_policies(compose: dict[str, Any]) -> None:
    opa = service(compose, "opa")
    url = environment(service(compose, "sharing"))["MESH_POLICY_URL"]
    host, port = url.removeprefix("http://").split(":")
    assert host == "opa"
    command = opa["command"]
    assert command[command.index("--addr") + 1] == f"{ALL_INTERFACES}:{port}"
    assert "./deploy/policies:/policies:ro" in opa["volumes"]
    assert command[-1] == "/policies"
    # The image is the version devstack builds for `make up` and the tests.
    pinned = (REPO / "deploy" / "opa" / "VERSION").read_text().strip().removeprefix("v")
    assert opa["image"] == f"openpolicyagent/opa:{pinned}"
