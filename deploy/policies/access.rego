# The mesh's default access policy: who may read another domain's data product, and for how long.
#
# Input (the sharing service builds it; see docs/architecture.md):
#   request:  {request_id, domain, product, major, requester, purpose, duration_seconds,
#              consumer: {kind: "domain", domain} | {kind: "account", account}}
#   product:  the catalog entry of the product (null when the catalog does not know it):
#             {domain, product, owner, versions: [{major, lifecycle, ports: [{columns: [{classification}]}]}]}
#   held:     the grants the consumer already holds on this product version (for extensions)
# Data (an organisation changes these without changing code, e.g. from the Helm chart's values):
#   data.config.access.max_duration_seconds  (default 90 days)
#
# Output, data.meshplane.access.decision:
#   {"outcome": "approve", "reason": …, "duration_seconds": n}
#   {"outcome": "pending", "reason": …, "approvers": [owner]}
#   {"outcome": "deny",    "reason": …}
# Every deny reason that applies is given; deny wins over pending, pending over approve.
package meshplane.access

default max_duration_seconds := 7776000 # 90 days

max_duration_seconds := data.config.access.max_duration_seconds

version := v if {
	some v in input.product.versions
	v.major == input.request.major
}

classifications contains c if {
	some port in version.ports
	some column in port.columns
	c := column.classification
}

sensitive if {
	some c in classifications
	c in {"pii", "restricted"}
}

external if input.request.consumer.kind == "account"

deny contains "the product is not in the catalog" if input.product == null

deny contains sprintf("version %d of the product does not exist", [input.request.major]) if {
	input.product != null
	not version
}

deny contains sprintf("version %d of the product is retired", [input.request.major]) if {
	version.lifecycle == "retired"
}

deny contains "a domain does not request access to its own product" if {
	input.request.consumer.kind == "domain"
	input.request.consumer.domain == input.request.domain
}

deny contains "the duration must be positive" if input.request.duration_seconds <= 0

deny contains sprintf("the duration is beyond the maximum of %d seconds", [max_duration_seconds]) if {
	input.request.duration_seconds > max_duration_seconds
}

deny contains "restricted data is never shared with an outside account" if {
	external
	"restricted" in classifications
}

pending contains "access for an outside account needs the owner's approval" if external

pending contains "pii or restricted data needs the owner's approval" if sensitive

decision := {"outcome": "deny", "reason": concat("; ", sort([r | some r in deny]))} if count(deny) > 0

decision := {
	"outcome": "pending",
	"reason": concat("; ", sort([r | some r in pending])),
	"approvers": [input.product.owner],
} if {
	count(deny) == 0
	count(pending) > 0
}

decision := {
	"outcome": "approve",
	"reason": "public or internal data, for a domain of the mesh",
	"duration_seconds": input.request.duration_seconds,
} if {
	count(deny) == 0
	count(pending) == 0
}
