"""Sharing: access requests in, policy decisions, time-bound grants and secure shares out.

Built so far (issue 9 is open): the pure core — :mod:`.plan` (a grant or revocation as intents),
:mod:`.ledger` (the grants the mesh holds and when each expires) and :mod:`.policy_input` (what
the policy engine is asked). The handlers, the service
declaration and the ledger's compacted topic come next.
"""

SERVICE_NAME = "sharing"
SERVICE_VERSION = "0.1.0"
