# syntax=docker/dockerfile:1
#
# One Dockerfile for every Meshplane service, and for snowlocal (the local Snowflake account)
# so docker-compose.yml can run the whole local stack from it.
#
#   docker build -t meshplane-provisioner .                           # a service (default: provisioner)
#   docker build --build-arg SERVICE=sharing -t meshplane-sharing .   # another service
#   docker build --target snowlocal -t meshplane-snowlocal .          # snowlocal (+ the dev-stack bootstrap)
#
# A service named S is the workspace package meshplane-S in services/S, whose console script
# meshplane-S is the image's entrypoint. Everything installed comes from uv.lock (`--frozen`):
# the image holds exactly the versions the tests ran against.
#
# Layers: the third-party dependencies are installed from uv.lock and the root pyproject.toml
# alone (with --frozen uv does not need the members' pyproject files), so editing a service's code
# or even its pyproject only rebuilds the small layer that installs the workspace's own packages.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---------------------------------------------------------------------------------------------
# base: Python + uv, and the settings every build stage shares. Build-time only.
FROM ${PYTHON_IMAGE} AS base
COPY --from=uv /uv /bin/uv
# Bytecode compiled at build time (the runtime user cannot write into the venv); copies, not
# links, out of the cache mount; the interpreter of the base image, never a downloaded one, so the
# venv's python symlink is valid in the runtime stage built from the same image.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src

# ---------------------------------------------------------------------------------------------
# build-service: the venv of services/$SERVICE (its package and what it needs, nothing else).
FROM base AS build-service
ARG SERVICE=provisioner
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package "meshplane-${SERVICE}"
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "meshplane-${SERVICE}"

# ---------------------------------------------------------------------------------------------
# build-snowlocal: snowlocal, plus what the compose stack's one-shot bootstrap runs
# (deploy/compose/bootstrap.py): meshplane-devstack's bootstrap_provisioner, which talks to
# snowlocal through meshplane-common's gateway (imported when it runs, so named here: devstack's
# own pyproject does not depend on it).
FROM base AS build-snowlocal
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-workspace --package snowlocal --package meshplane-devstack --package meshplane-common
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package snowlocal --package meshplane-devstack --package meshplane-common

# ---------------------------------------------------------------------------------------------
# runtime: what the final images share. No uv, no compiler, no sources: the venv only, owned by
# root and read-only to the fixed, unprivileged user the processes run as.
FROM ${PYTHON_IMAGE} AS runtime
# A fixed uid/gid, numeric in USER below, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 meshplane \
    && useradd --system --uid 10001 --gid meshplane --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin meshplane
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app

# ---------------------------------------------------------------------------------------------
# snowlocal: `docker build --target snowlocal .` (docker-compose.yml's snowlocal and bootstrap).
FROM runtime AS snowlocal
COPY --from=build-snowlocal /opt/venv /opt/venv
# The data folder exists in the image, owned by the app user, so a named volume mounted on it
# starts with that owner (Docker copies it into an empty volume).
RUN mkdir -p /data && chown meshplane:meshplane /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8765
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=12 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=2)"]
ENTRYPOINT ["snowlocal"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8765", "--data-dir", "/data"]

# ---------------------------------------------------------------------------------------------
# service: the default target (last stage). The entrypoint is the service's console script,
# recorded in a fixed place because ENTRYPOINT's exec form does not expand build arguments.
FROM runtime AS service
ARG SERVICE=provisioner
COPY --from=build-service /opt/venv /opt/venv
RUN ln -s "/opt/venv/bin/meshplane-${SERVICE}" /usr/local/bin/meshplane-service \
    && test -x /usr/local/bin/meshplane-service
LABEL org.opencontainers.image.title="meshplane-${SERVICE}"
USER 10001:10001
# MESH_HTTP_PORT's default: /healthz, /readyz and /metrics.
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('MESH_HTTP_PORT', '8080'), timeout=2)"]
ENTRYPOINT ["meshplane-service"]
