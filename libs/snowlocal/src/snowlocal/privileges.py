"""Who may do what: role inheritance, privilege checks and the right to grant.

Rules from https://docs.snowflake.com/en/user-guide/security-access-control-overview and
https://docs.snowflake.com/en/user-guide/security-access-control-configure (managed access):

- a role holds the privileges granted to it and to every role granted to it, transitively;
  PUBLIC is granted to every role and user;
- the owner of an object holds every privilege on it;
- a privilege may be granted by the object's owner, by a holder of it WITH GRANT OPTION, or by a
  role with MANAGE GRANTS on the account; in a managed-access schema only the schema's owner or
  MANAGE GRANTS may grant on the objects in it;
- future grants need MANAGE GRANTS, or the schema's owner in a managed-access schema.
"""

from __future__ import annotations

from collections.abc import Iterable

from snowlocal.account import (
    ACCOUNT_REF,
    ACCOUNTADMIN,
    OWNERSHIP,
    PUBLIC,
    ROLE,
    SCHEMA,
    SECURITYADMIN,
    SYSADMIN,
    USER,
    USERADMIN,
    Account,
    ObjectRef,
)

# The system roles' hierarchy and the account privileges each holds, seeded at bootstrap:
# https://docs.snowflake.com/en/user-guide/security-access-control-overview#system-defined-roles
SYSTEM_ROLE_PARENTS = {SECURITYADMIN: ACCOUNTADMIN, USERADMIN: SECURITYADMIN, SYSADMIN: ACCOUNTADMIN}
SYSTEM_ACCOUNT_PRIVILEGES = {
    SYSADMIN: ("CREATE DATABASE", "CREATE WAREHOUSE"),
    USERADMIN: ("CREATE ROLE", "CREATE USER"),
    SECURITYADMIN: ("MANAGE GRANTS",),
    ACCOUNTADMIN: (
        "APPLY MASKING POLICY",
        "APPLY TAG",
        "CREATE SHARE",
        # Given to every role that held CREATE SHARE when it was introduced (ACCOUNTADMIN among them):
        # https://docs.snowflake.com/en/user-guide/security-access-privileges-shares
        "MANAGE SHARE TARGET",
        "IMPORT SHARE",
        "EXECUTE TASK",
        "MONITOR USAGE",
        "CREATE INTEGRATION",
    ),
}


class RoleGraph:
    """Caches each role's closure until a role grant changes."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self._version = -1
        self._closures: dict[str, frozenset[str]] = {}

    def closure(self, role: str) -> frozenset[str]:
        """The role, every role it inherits, and PUBLIC."""
        if self._version != self.account.role_graph_version:
            self._closures.clear()
            self._version = self.account.role_graph_version
        cached = self._closures.get(role)
        if cached is not None:
            return cached
        seen = {role, PUBLIC}
        stack = [role]
        while stack:
            for child in self.account.roles_granted_to(ROLE, stack.pop()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        result = frozenset(seen)
        self._closures[role] = result
        return result

    def closure_of_all(self, roles: Iterable[str]) -> frozenset[str]:
        result: set[str] = set()
        for role in roles:
            result |= self.closure(role)
        return frozenset(result)

    def user_roles(self, user: str) -> frozenset[str]:
        """Every role a user may activate: those granted to it and all they inherit."""
        return self.closure_of_all([*self.account.roles_granted_to(USER, user), PUBLIC])

    def would_cycle(self, role: str, grantee_role: str) -> bool:
        """Granting `role` to `grantee_role` makes a cycle when grantee is already under role."""
        return grantee_role in self.closure(role)


def has_privilege(account: Account, roles: frozenset[str], privilege: str, ref: ObjectRef) -> bool:
    grants = account.grants.get(ref)
    if not grants:
        return False
    return any(g.grantee in roles and g.privilege in (privilege, OWNERSHIP) for g in grants.values())


def has_any_privilege(account: Account, roles: frozenset[str], ref: ObjectRef) -> bool:
    grants = account.grants.get(ref)
    return bool(grants) and any(g.grantee in roles for g in grants.values())  # type: ignore[union-attr]


def owns(account: Account, roles: frozenset[str], ref: ObjectRef) -> bool:
    return account.owner(ref) in roles


def manages_grants(account: Account, roles: frozenset[str]) -> bool:
    return has_privilege(account, roles, "MANAGE GRANTS", ACCOUNT_REF)


def in_managed_schema(account: Account, ref: ObjectRef) -> ObjectRef | None:
    schema = ref.schema()
    if schema is None:
        return None
    obj = account.get(schema)
    return schema if obj is not None and obj.properties.get("managed_access") else None


def may_grant(account: Account, roles: frozenset[str], privilege: str, ref: ObjectRef) -> bool:
    if manages_grants(account, roles):
        return True
    managed = in_managed_schema(account, ref)
    if managed is not None:
        return owns(account, roles, managed)
    if owns(account, roles, ref):
        return True
    grants = account.grants.get(ref, {})
    return any(g.grantee in roles and g.privilege == privilege and g.grant_option for g in grants.values())


def may_grant_future(account: Account, roles: frozenset[str], container: ObjectRef) -> bool:
    if manages_grants(account, roles):
        return True
    if container.kind == SCHEMA:
        obj = account.get(container)
        return (
            obj is not None and bool(obj.properties.get("managed_access")) and owns(account, roles, container)
        )
    return False


def may_grant_role(account: Account, roles: frozenset[str], role: str) -> bool:
    """Granting a role needs its OWNERSHIP or MANAGE GRANTS."""
    return manages_grants(account, roles) or owns(account, roles, ObjectRef(ROLE, (role,)))
