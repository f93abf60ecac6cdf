package meshplane.access_test

import data.meshplane.access

product(classification, lifecycle) := {
	"domain": "sales",
	"product": "orders",
	"owner": "sales-data-team",
	"versions": [{"major": 1, "lifecycle": lifecycle, "ports": [{"columns": [
		{"classification": "internal"},
		{"classification": classification},
	]}]}],
}

request(consumer, seconds) := {
	"request_id": "r1",
	"domain": "sales",
	"product": "orders",
	"major": 1,
	"requester": "marketing",
	"purpose": "attribution",
	"duration_seconds": seconds,
	"consumer": consumer,
}

marketing := {"kind": "domain", "domain": "marketing"}

outside := {"kind": "account", "account": "ACME.PROD"}

test_internal_data_for_a_domain_is_approved_for_the_time_asked if {
	d := access.decision with input as {"request": request(marketing, 86400), "product": product("public", "active")}
	d.outcome == "approve"
	d.duration_seconds == 86400
}

test_pii_waits_for_the_owner if {
	d := access.decision with input as {"request": request(marketing, 86400), "product": product("pii", "active")}
	d.outcome == "pending"
	d.approvers == ["sales-data-team"]
}

test_an_outside_account_always_waits_for_the_owner if {
	d := access.decision with input as {"request": request(outside, 86400), "product": product("public", "active")}
	d.outcome == "pending"
}

test_restricted_data_is_never_shared_outside if {
	d := access.decision with input as {"request": request(outside, 86400), "product": product("restricted", "active")}
	d.outcome == "deny"
	contains(d.reason, "never shared with an outside account")
}

test_a_self_grant_is_denied if {
	self := {"kind": "domain", "domain": "sales"}
	d := access.decision with input as {"request": request(self, 86400), "product": product("public", "active")}
	d.outcome == "deny"
	contains(d.reason, "its own product")
}

test_an_unknown_product_is_denied if {
	d := access.decision with input as {"request": request(marketing, 86400), "product": null}
	d.outcome == "deny"
	d.reason == "the product is not in the catalog"
}

test_a_retired_version_is_denied if {
	d := access.decision with input as {"request": request(marketing, 86400), "product": product("public", "retired")}
	d.outcome == "deny"
	contains(d.reason, "retired")
}

test_a_missing_version_is_denied if {
	r := object.union(request(marketing, 86400), {"major": 2})
	d := access.decision with input as {"request": r, "product": product("public", "active")}
	d.outcome == "deny"
	contains(d.reason, "version 2 of the product does not exist")
}

test_absurd_durations_are_denied_with_a_reason if {
	every seconds in [0, -5, 7776001] {
		d := access.decision with input as {"request": request(marketing, seconds), "product": product("public", "active")}
		d.outcome == "deny"
	}
}

test_the_maximum_comes_from_data if {
	d := access.decision with input as {"request": request(marketing, 86400), "product": product("public", "active")}
		with data.config.access.max_duration_seconds as 3600
	d.outcome == "deny"
	contains(d.reason, "beyond the maximum of 3600 seconds")
}

test_deny_wins_over_pending if {
	d := access.decision with input as {"request": request(outside, 0), "product": product("pii", "active")}
	d.outcome == "deny"
}
