"""The catalog: every product's current entry, from the compacted topic ``mesh.catalog``.

* :mod:`~meshplane.common.catalog.entries` — how an entry changes (pure; the provisioner's);
* :mod:`~meshplane.common.catalog.view` — :class:`Catalog`, the entries in memory, search, lineage;
* :mod:`~meshplane.common.catalog.reader` — :class:`CatalogReader`, rebuilt from the topic at
  start and kept current while running, for any service (and ``meshctl catalog``).
"""

from meshplane.common.catalog.reader import CatalogReader, ensure_catalog_topic
from meshplane.common.catalog.view import Catalog, CatalogSource, Lineage

__all__ = ["Catalog", "CatalogReader", "CatalogSource", "Lineage", "ensure_catalog_topic"]
