"""Entry point: ``meshplane-provisioner`` or ``python -m meshplane.provisioner`` (``ServiceSpec.main``)."""

from __future__ import annotations

from meshplane.provisioner.service import SERVICE


def main() -> None:
    SERVICE.main()


if __name__ == "__main__":
    main()
