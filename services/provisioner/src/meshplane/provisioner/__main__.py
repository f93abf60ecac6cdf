"""Entry point: ``meshplane-provisioner`` (or ``python -m meshplane.provisioner``).

Reads its configuration from the environment, connects to the real Snowflake gateway, and runs
until SIGTERM/SIGINT, on which FastStream stops consuming, lets the batch in flight finish (no
record of it is started after ``MESH_KAFKA_BATCH_MAX_SECONDS``; offsets are committed only once
the audit events are acknowledged), and shuts down.
"""

from __future__ import annotations

import asyncio
import logging

from meshplane.common.snowflake.gateway import SnowflakeGateway
from meshplane.common.telemetry import configure_tracing
from meshplane.provisioner import SERVICE_NAME, SERVICE_VERSION
from meshplane.provisioner.app import create_app
from meshplane.provisioner.settings import ProvisionerConfig


def main() -> None:
    config = ProvisionerConfig.from_env()
    logging.basicConfig(level=config.log.level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    configure_tracing(SERVICE_NAME, SERVICE_VERSION)
    service = create_app(config, SnowflakeGateway(config.snowflake))
    asyncio.run(service.app.run())


if __name__ == "__main__":
    main()
