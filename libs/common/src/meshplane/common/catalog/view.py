"""The catalog as a service or a person reads it: every product's current entry, in memory.

:class:`Catalog` holds the entries (filled by :class:`~meshplane.common.catalog.reader.CatalogReader`
from ``mesh.catalog``, or by hand in tests) and answers the questions the mesh asks of it: one
product, a text search, and lineage — what a product is built from (upstream) and what is built
from it (downstream).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from meshplane.common.events.catalog import CatalogEntry

__all__ = ["Catalog", "CatalogSource", "Lineage"]


class Lineage:
    """A product's upstream and downstream products, each level by level from the product outward."""

    def __init__(
        self, product_id: str, upstream: list[tuple[str, str]], downstream: list[tuple[str, str]]
    ) -> None:
        self.product_id = product_id
        #: (product, what it is built from) edges, nearest first.
        self.upstream = upstream
        #: (product built from it, what it is built from) edges, nearest first.
        self.downstream = downstream

    def text(self) -> str:
        lines = [self.product_id]
        lines += [f"  upstream:   {source} -> {target}" for target, source in self.upstream]
        lines += [f"  downstream: {source} -> {target}" for target, source in self.downstream]
        if not self.upstream and not self.downstream:
            lines.append("  (no lineage: built from nothing in the catalog, and nothing is built from it)")
        return "\n".join(lines) + "\n"

    def mermaid(self) -> str:
        """A Mermaid flowchart, data flowing left to right (source --> product built from it)."""
        names: dict[str, str] = {}

        def node(product: str) -> str:
            if product not in names:
                names[product] = f"p{len(names)}"
            return names[product]

        node(self.product_id)
        edges = [(source, target) for target, source in self.upstream + self.downstream]
        body = [f"  {node(s)} --> {node(t)}" for s, t in edges]
        declared = [f'  {key}["{product}"]' for product, key in names.items()]
        style = f"  style {names[self.product_id]} stroke-width:3px"
        return "\n".join(["flowchart LR", *declared, *body, style]) + "\n"


class Catalog:
    """Every product's entry, by product id."""

    def __init__(self, entries: Iterable[CatalogEntry] = ()) -> None:
        self._entries: dict[str, CatalogEntry] = {}
        for entry in entries:
            self.put(entry)

    def put(self, entry: CatalogEntry) -> None:
        self._entries[entry.product_id] = entry

    def discard(self, product_id: str) -> None:
        self._entries.pop(product_id, None)

    def get(self, product_id: str) -> CatalogEntry | None:
        return self._entries.get(product_id)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[CatalogEntry]:
        return [self._entries[key] for key in sorted(self._entries)]

    def search(self, text: str) -> list[CatalogEntry]:
        """Entries whose id, owner, description, port or column names contain ``text`` (any case)."""
        needle = text.casefold()

        def haystack(entry: CatalogEntry) -> str:
            parts = [entry.product_id, entry.owner or "", entry.description or ""]
            for version in entry.active:
                for port in version.ports:
                    parts += [port.name, port.view, *(c.name for c in port.columns)]
            return "\n".join(parts).casefold()

        return [entry for entry in self.entries() if needle in haystack(entry)]

    def missing_inputs(self, inputs: Iterable[str]) -> list[str]:
        """The inputs that are not products with an active version in the catalog."""
        return [i for i in inputs if (entry := self.get(i)) is None or not entry.active]

    def lineage(self, product_id: str) -> Lineage:
        """Upstream (what ``product_id`` is built from, transitively) and downstream (built from it)."""
        upstream: list[tuple[str, str]] = []
        seen = {product_id}
        frontier = [product_id]
        while frontier:
            following = []
            for target in frontier:
                entry = self.get(target)
                for source in entry.inputs if entry else ():
                    upstream.append((target, source))
                    if source not in seen:
                        seen.add(source)
                        following.append(source)
            frontier = following
        built_from: dict[str, list[str]] = {}
        for entry in self.entries():
            for source in entry.inputs:
                built_from.setdefault(source, []).append(entry.product_id)
        downstream: list[tuple[str, str]] = []
        seen = {product_id}
        frontier = [product_id]
        while frontier:
            following = []
            for source in frontier:
                for target in built_from.get(source, ()):
                    downstream.append((target, source))
                    if target not in seen:
                        seen.add(target)
                        following.append(target)
            frontier = following
        return Lineage(product_id, upstream, downstream)


class CatalogSource(Protocol):
    """Where a service's catalog comes from: the topic (:class:`~.reader.CatalogReader`) or a test's fake."""

    catalog: Catalog

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...

    async def caught_up(self) -> None: ...

    def remember(self, entry: CatalogEntry) -> None: ...
