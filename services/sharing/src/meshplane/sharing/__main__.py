"""Entry point: ``meshplane-sharing`` or ``python -m meshplane.sharing`` (``ServiceSpec.main``)."""

from __future__ import annotations

from meshplane.sharing.service import SERVICE


def main() -> None:
    SERVICE.main()


if __name__ == "__main__":
    main()
