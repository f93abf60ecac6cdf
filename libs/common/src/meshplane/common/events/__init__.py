"""The mesh's event contract: CloudEvents on Kafka, one pydantic model per versioned event type.

Importing this package registers every event type (``EVENT_TYPES``).
"""

from meshplane.common.events.access import (
    AccessDecided,
    AccessRequested,
    AccessRevokeRequested,
    ExternalConsumer,
    InternalConsumer,
)
from meshplane.common.events.access_audit import (
    AuditAccessDenied,
    AuditAccessExpired,
    AuditAccessFailed,
    AuditAccessGranted,
    AuditAccessPending,
    AuditAccessRevoked,
    AuditDriftDetected,
    AuditDriftRepaired,
)
from meshplane.common.events.audit import (
    AuditEventData,
    AuditEventRejected,
    ExecutedStatement,
    InputRef,
    RejectionReason,
    ServiceRef,
    SnowflakeFailure,
)
from meshplane.common.events.base import EVENT_TYPES, EventData, EventPart, event_type
from meshplane.common.events.catalog import CatalogColumn, CatalogEntry, CatalogPort, CatalogVersion
from meshplane.common.events.contract import ContractError, MeshContract, read_contract
from meshplane.common.events.envelope import (
    Envelope,
    EventRejectedError,
    KafkaRecord,
    content_digest,
    decode,
    derived_event_id,
    encode,
)
from meshplane.common.events.product import (
    ProductContractEvent,
    ProductCreated,
    ProductRetired,
    ProductUpdated,
)
from meshplane.common.events.product_audit import (
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
)
from meshplane.common.events.sharing_ledger import LedgerGrant, PendingRequest, SharingLedgerEntry
from meshplane.common.events.topics import (
    ANY_DOMAIN,
    AUDIT_TOPIC,
    CATALOG_TOPIC,
    DEADLETTER_TOPIC,
    DOMAIN_TOPIC_KINDS,
    SHARING_LEDGER_TOPIC,
    domain_of_topic,
    domain_topic,
    domain_topic_pattern,
)

__all__ = [
    "ANY_DOMAIN",
    "AUDIT_TOPIC",
    "CATALOG_TOPIC",
    "DEADLETTER_TOPIC",
    "DOMAIN_TOPIC_KINDS",
    "EVENT_TYPES",
    "SHARING_LEDGER_TOPIC",
    "AccessDecided",
    "AccessRequested",
    "AccessRevokeRequested",
    "AuditAccessDenied",
    "AuditAccessExpired",
    "AuditAccessFailed",
    "AuditAccessGranted",
    "AuditAccessPending",
    "AuditAccessRevoked",
    "AuditDriftDetected",
    "AuditDriftRepaired",
    "AuditEventData",
    "AuditEventRejected",
    "AuditProductProvisioned",
    "AuditProductProvisioningFailed",
    "AuditProductRetired",
    "CatalogColumn",
    "CatalogEntry",
    "CatalogPort",
    "CatalogVersion",
    "ContractError",
    "Envelope",
    "EventData",
    "EventPart",
    "EventRejectedError",
    "ExecutedStatement",
    "ExternalConsumer",
    "InputRef",
    "InternalConsumer",
    "KafkaRecord",
    "LedgerGrant",
    "MeshContract",
    "PendingRequest",
    "ProductContractEvent",
    "ProductCreated",
    "ProductRetired",
    "ProductUpdated",
    "RejectionReason",
    "ServiceRef",
    "SharingLedgerEntry",
    "SnowflakeFailure",
    "content_digest",
    "decode",
    "derived_event_id",
    "domain_of_topic",
    "domain_topic",
    "domain_topic_pattern",
    "encode",
    "event_type",
    "read_contract",
]
