"""The mesh's event contract: CloudEvents on Kafka, one pydantic model per versioned event type.

Importing this package registers every event type (``EVENT_TYPES``).
"""

from meshplane.common.events.audit import (
    AuditEventData,
    AuditEventRejected,
    AuditProductProvisioned,
    AuditProductProvisioningFailed,
    AuditProductRetired,
    ExecutedStatement,
    InputRef,
    RejectionReason,
    ServiceRef,
    SnowflakeFailure,
)
from meshplane.common.events.base import EVENT_TYPES, EventData, event_type
from meshplane.common.events.contract import ContractError, MeshContract, read_contract
from meshplane.common.events.envelope import (
    Envelope,
    EventRejectedError,
    KafkaRecord,
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
from meshplane.common.events.topics import (
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    PRODUCT_TOPIC_PATTERN,
    domain_of_topic,
    product_topic,
)

__all__ = [
    "AUDIT_TOPIC",
    "DEADLETTER_TOPIC",
    "EVENT_TYPES",
    "PRODUCT_TOPIC_PATTERN",
    "AuditEventData",
    "AuditEventRejected",
    "AuditProductProvisioned",
    "AuditProductProvisioningFailed",
    "AuditProductRetired",
    "ContractError",
    "Envelope",
    "EventData",
    "EventRejectedError",
    "ExecutedStatement",
    "InputRef",
    "KafkaRecord",
    "MeshContract",
    "ProductContractEvent",
    "ProductCreated",
    "ProductRetired",
    "ProductUpdated",
    "RejectionReason",
    "ServiceRef",
    "SnowflakeFailure",
    "decode",
    "derived_event_id",
    "domain_of_topic",
    "encode",
    "event_type",
    "product_topic",
    "read_contract",
]
