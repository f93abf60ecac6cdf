"""The Dockerfile's text: locked installs, cached dependencies, a non-root runtime without build tools.

No Docker engine is needed: the file is split into stages and instructions and read as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from meshplane.common.settings import HttpSettings

REPO = Path(__file__).resolve().parents[3]

#: The stages images are built from: the default target (the last stage) and snowlocal's.
FINAL_STAGES = ("snowlocal",)


@dataclass
class Stage:
    base: str
    name: str | None
    #: (INSTRUCTION, arguments) in order, continuation lines joined, comments dropped.
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args_of(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages of a Dockerfile."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.fullmatch(
                r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.IGNORECASE
            )
            assert match, f"cannot read FROM {args}"
            stages.append(Stage(base=match.group(1), name=match.group(2)))
        elif not stages:
            if instruction == "ARG" and "=" in args:
                key, _, value = args.partition("=")
                global_args[key.strip()] = value.strip()
        else:
            stages[-1].instructions.append((instruction, args.strip()))
    return global_args, stages


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def parsed(dockerfile: str) -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(dockerfile)


@pytest.fixture(scope="module")
def stages(parsed: tuple[dict[str, str], list[Stage]]) -> list[Stage]:
    return parsed[1]


def stage_named(stages: list[Stage], name: str) -> Stage:
    for stage in stages:
        if stage.name == name:
            return stage
    raise AssertionError(f"the Dockerfile has no stage {name!r}")


def lineage(stages: list[Stage], stage: Stage) -> list[Stage]:
    """The stage and every stage it is built FROM, nearest first."""
    chain = [stage]
    names = {s.name: s for s in stages if s.name}
    while chain[-1].base in names:
        chain.append(names[chain[-1].base])
    return chain


def final_stages(stages: list[Stage]) -> list[Stage]:
    return [stages[-1], *(stage_named(stages, name) for name in FINAL_STAGES)]


def all_runs(stages: list[Stage]) -> list[str]:
    return [args for stage in stages for args in stage.args_of("RUN")]


def test_the_build_is_multi_stage(stages: list[Stage]) -> None:
    assert len(stages) >= 2, "build tools must stay in a build stage, out of the runtime image"


def test_uv_is_pinned_to_the_makefiles_version(
    dockerfile: str, parsed: tuple[dict[str, str], list[Stage]]
) -> None:
    global_args, stages = parsed
    makefile = (REPO / "Makefile").read_text()
    wanted = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", makefile, re.MULTILINE)
    assert wanted, "the Makefile pins no UV_VERSION"
    images = [stage.base for stage in stages if "astral-sh/uv" in stage.base]
    images += re.findall(r"--from=(\S*astral-sh/uv\S*)", dockerfile)
    assert images, "uv is not taken from its pinned image"
    for image in images:
        tag = image.rpartition(":")[2]
        tag = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), m.group(0)), tag)
        assert tag == wanted.group(1), f"uv {tag} in the Dockerfile, {wanted.group(1)} in the Makefile"


def test_every_uv_sync_is_frozen_and_without_dev_dependencies(stages: list[Stage]) -> None:
    syncs = [run for run in all_runs(stages) if "uv sync" in run]
    assert syncs, "the Dockerfile never runs uv sync"
    for run in syncs:
        assert "--frozen" in run or "--locked" in run, f"uv sync without the lock: {run}"
        assert "--no-dev" in run, f"uv sync installs the dev group: {run}"


def test_nothing_is_pip_installed_around_the_lock(stages: list[Stage]) -> None:
    for run in all_runs(stages):
        for match in re.finditer(r"\bpip3?\s+install\s+([^&;|]*)", run):
            targets = [arg for arg in match.group(1).split() if not arg.startswith("-")]
            assert all(re.fullmatch(r"\"?uv==[\d.]+\"?", target) for target in targets), (
                f"pip install of something other than a pinned uv: {run}"
            )
        assert "uv pip install" not in run, f"uv pip install bypasses uv.lock: {run}"


def test_dependencies_are_installed_before_the_sources_are_copied(stages: list[Stage]) -> None:
    builders = [stage for stage in stages if any("uv sync" in run for run in stage.args_of("RUN"))]
    assert builders, "no stage runs uv sync"
    for stage in builders:
        steps = [
            (kind, args)
            for kind, args in stage.instructions
            if (kind == "RUN" and "uv sync" in args) or kind in {"COPY", "ADD"}
        ]
        first_sync = next(i for i, (kind, _) in enumerate(steps) if kind == "RUN")
        deps_only = steps[first_sync][1]
        assert "--no-install-workspace" in deps_only or "--no-install-project" in deps_only, (
            f"stage {stage.name}: the first uv sync should install the dependencies only: {deps_only}"
        )
        sources = [args for kind, args in steps[:first_sync] if re.search(r"\b(libs|services)\b", args)]
        assert not sources, f"stage {stage.name}: sources copied before the dependency layer: {sources}"


@pytest.mark.parametrize("which", ["service", "snowlocal"])
def test_final_images_run_as_a_fixed_non_root_user(stages: list[Stage], which: str) -> None:
    stage = stages[-1] if which == "service" else stage_named(stages, which)
    users = [user for s in reversed(lineage(stages, stage)) for user in s.args_of("USER")]
    assert users, f"the {which} image runs as root: no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"the {which} image runs as {users[-1]}"
    assert user.isdigit(), f"USER {users[-1]}: a numeric uid lets Kubernetes' runAsNonRoot verify it"


def test_final_images_carry_no_build_tools(stages: list[Stage]) -> None:
    for stage in final_stages(stages):
        for s in lineage(stages, stage):
            assert "astral-sh/uv" not in s.base, f"{stage.name or 'the default image'} is built on uv's image"
            for args in s.args_of("COPY"):
                assert not re.search(r"--from=(uv|\S*astral-sh/uv)\b", args), f"{s.name} copies uv in: {args}"
            for run in s.args_of("RUN"):
                assert not re.search(r"\b(apt-get|apt|apk)\s+(install|add)\b", run), (
                    f"{s.name} installs system packages: {run}"
                )


def test_the_service_image_runs_its_console_script_and_exposes_http(stages: list[Stage]) -> None:
    final = stages[-1]
    assert final.args_of("ENTRYPOINT"), "the service image has no ENTRYPOINT"
    exposed = {int(port.split("/")[0]) for args in final.args_of("EXPOSE") for port in args.split()}
    default_port = HttpSettings.model_fields["port"].default
    assert default_port in exposed, f"MESH_HTTP_PORT's default {default_port} is not exposed"
    links = " ".join(final.args_of("RUN"))
    entry = final.args_of("ENTRYPOINT")[-1]
    script = re.search(r'"([^"]+)"', entry)
    assert script, f"ENTRYPOINT should be in exec form: {entry}"
    assert script.group(1).startswith("meshplane-") or script.group(1) in links, (
        f"ENTRYPOINT {script.group(1)} is not a service's console script"
    )
    assert "/opt/venv/bin/meshplane-${SERVICE}" in links or script.group(1) == "meshplane-${SERVICE}"


def test_the_snowlocal_image_serves_on_its_documented_port(stages: list[Stage]) -> None:
    snowlocal = stage_named(stages, "snowlocal")
    assert snowlocal.args_of("ENTRYPOINT") == ['["snowlocal"]']
    assert "8765" in " ".join(snowlocal.args_of("EXPOSE"))
    assert "--host" in " ".join(snowlocal.args_of("CMD")), "snowlocal listens on 127.0.0.1 by default"


def test_the_build_context_holds_what_the_dockerfile_copies(stages: list[Stage]) -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    rules = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert rules[0] == "*", ".dockerignore is an allowlist: it starts by excluding everything"
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    sources: set[str] = set()
    for stage in stages:
        for args in stage.args_of("COPY"):
            parts = [part for part in args.split() if not part.startswith("--")]
            if not any(part.startswith("--from") for part in args.split()):
                sources.update(part.rstrip("/") for part in parts[:-1])
        for run in stage.args_of("RUN"):
            sources.update(re.findall(r"--mount=type=bind,source=([^,\s]+)", run))
    assert sources, "the Dockerfile copies nothing from the context"
    missing = sorted(source for source in sources if source.split("/")[0] not in allowed)
    assert not missing, f".dockerignore leaves these out of the build context: {missing}"
