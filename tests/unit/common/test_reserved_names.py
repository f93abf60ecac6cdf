"""Domain names the mesh or Snowflake has taken are refused, with the reason, wherever a domain enters."""

from __future__ import annotations

import pytest
from open_data_contract_standard.model import OpenDataContractStandard

from meshplane.common.events import EventRejectedError, ProductRetired, decode, domain_topic, encode
from meshplane.common.events.contract import ContractError, read_contract
from meshplane.common.events.names import reserved_domain
from meshplane.common.layout import domain_layout
from meshplane.common.snowflake.identifiers import UnsafeIdentifierError
from tests.unit.provisioner.contracts import odcs_dict

RESERVED = [
    "audit",
    "deadletter",
    "catalog",
    "meshplane",
    "meshplane_provisioner",  # its _WH would be the provisioner's own warehouse
    "snowflake",
    "snowflake_sample_data",
    "public",
    "information_schema",
    "accountadmin",
    "sysadmin",
]


@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_domain_is_refused_by_the_contract_reader(name: str) -> None:
    doc = odcs_dict()
    doc["domain"] = name
    with pytest.raises(ContractError, match="reserved") as refused:
        read_contract(OpenDataContractStandard.model_validate(doc))
    assert refused.value.unsafe_name
    assert refused.value.where == "domain"


@pytest.mark.parametrize("name", RESERVED)
def test_a_reserved_domain_has_no_topic_and_no_layout(name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        domain_topic(name, "product")
    with pytest.raises(UnsafeIdentifierError, match="reserved"):
        domain_layout(name)


def test_a_retirement_in_a_reserved_domain_is_dead_lettered_as_an_unsafe_name() -> None:
    record = encode(
        ProductRetired.model_construct(domain="snowflake", product="orders", major=1),
        topic="mesh.snowflake.product",
        source="/tests",
    )
    with pytest.raises(EventRejectedError) as rejected:
        decode(record)
    assert rejected.value.code == "unsafe-name"
    assert "reserved" in rejected.value.reason


@pytest.mark.parametrize(
    "name", ["sales", "snowflakes", "meshplanes", "audits", "public_health", "my_catalog"]
)
def test_names_that_only_resemble_reserved_ones_are_fine(name: str) -> None:
    assert reserved_domain(name) is None
    domain_layout(name)
