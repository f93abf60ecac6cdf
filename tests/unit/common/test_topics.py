"""Domain topics: one name helper and one pattern helper for every kind."""

from __future__ import annotations

import re

import pytest

from meshplane.common.events import domain_topic, domain_topic_pattern


def test_a_domain_topic_is_mesh_domain_kind() -> None:
    assert domain_topic("sales", "product") == "mesh.sales.product"


@pytest.mark.parametrize(("domain", "kind"), [("Sales", "product"), ("sales", "gossip"), ("a__b", "product")])
def test_a_bad_domain_or_kind_is_refused(domain: str, kind: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        domain_topic(domain, kind)


def test_the_pattern_matches_every_domains_topic_of_its_kind_only() -> None:
    pattern = re.compile(domain_topic_pattern("product"))
    assert pattern.fullmatch("mesh.sales.product")
    assert pattern.fullmatch("mesh.t1a2b3_sales.product")
    for other in (
        "mesh.audit",
        "mesh.deadletter",
        "mesh.sales.access",
        "mesh.sales.product.v2",
        "xmesh.a.product",
    ):
        assert not pattern.fullmatch(other), other


def test_a_narrower_domain_pattern_serves_only_those_domains() -> None:
    pattern = re.compile(domain_topic_pattern("product", "sales|finance"))
    assert pattern.fullmatch("mesh.sales.product")
    assert pattern.fullmatch("mesh.finance.product")
    assert not pattern.fullmatch("mesh.marketing.product")
    # The alternation stays inside the domain part: "sales|finance" does not match a bare "finance.product".
    assert not pattern.fullmatch("finance.product")
