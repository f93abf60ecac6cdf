"""docker-compose.yml's one-shot ``bootstrap`` step: the services' Snowflake identities in snowlocal.

Runs in the snowlocal image (which holds ``snowlocal`` and ``meshplane-devstack``) after snowlocal is
healthy, with the repository's ``deploy/`` mounted under the working folder so devstack finds
``deploy/snowflake/bootstrap.sql``. It does what ``make up`` does for the local stack: runs that
script as snowlocal's ADMIN through ``meshplane.devstack.bootstrap.bootstrap_provisioner``, so both
stacks create the same user, role and warehouse. The script is idempotent, so the step runs on
every ``docker compose up``.

Environment: ``SNOWLOCAL_URL`` (``http://snowlocal:8765``), ``PROVISIONER_PASSWORD`` and
``SHARING_PASSWORD`` (what each service's ``MESH_SNOWFLAKE_PASSWORD`` logs in with). Sharing's
script (``bootstrap-sharing.sql``) runs after the provisioner's, on which it builds.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    try:
        from meshplane.devstack import bootstrap
        from meshplane.devstack.endpoints import SnowlocalEndpoint
    except ImportError as exc:
        print(f"bootstrap: meshplane.devstack.bootstrap is not in this image: {exc}", file=sys.stderr)
        return 2
    try:
        url = os.environ["SNOWLOCAL_URL"]
        password = os.environ["PROVISIONER_PASSWORD"]
        sharing_password = os.environ["SHARING_PASSWORD"]
    except KeyError as exc:
        print(f"bootstrap: {exc.args[0]} is not set", file=sys.stderr)
        return 2
    endpoint = SnowlocalEndpoint.from_url(url)
    bootstrap.bootstrap_provisioner(endpoint, password=password)
    bootstrap.bootstrap_sharing(endpoint, password=sharing_password, provisioner_password=password)
    print(f"bootstrap: the services' identities are ready in snowlocal at {endpoint.url}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
