"""The account model fakesnow lacks: roles, users, ownership, privileges, warehouses, tags, masking.

This is plain data plus the bookkeeping that keeps it consistent; who may do what is decided in
`privileges`, statements are turned into changes here by `commands`. Everything is serialisable
so that `snowlocal serve --data-dir` keeps the account across restarts.

Concepts follow https://docs.snowflake.com/en/user-guide/security-access-control-overview :
every securable object is owned by exactly one role (the OWNERSHIP privilege), privileges are
granted to roles, roles are granted to roles and users, and a role inherits the privileges of
the roles granted to it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "ACCOUNT"
DATABASE = "DATABASE"
SCHEMA = "SCHEMA"
TABLE = "TABLE"
VIEW = "VIEW"
WAREHOUSE = "WAREHOUSE"
ROLE = "ROLE"
USER = "USER"
TAG = "TAG"
MASKING_POLICY = "MASKING POLICY"
SHARE = "SHARE"

# Objects that live in a schema, and so are named db.schema.object.
SCHEMA_OBJECT_KINDS = (TABLE, VIEW, TAG, MASKING_POLICY)

PUBLIC = "PUBLIC"
ACCOUNTADMIN = "ACCOUNTADMIN"
SECURITYADMIN = "SECURITYADMIN"
USERADMIN = "USERADMIN"
SYSADMIN = "SYSADMIN"
SYSTEM_ROLES = (ACCOUNTADMIN, SECURITYADMIN, USERADMIN, SYSADMIN, PUBLIC)

OWNERSHIP = "OWNERSHIP"

_PLAIN_NAME = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")


def display_part(part: str) -> str:
    """A name part as Snowflake prints it: plain when it needs no quotes, quoted otherwise."""
    if part and part[0] not in "0123456789$" and set(part) <= _PLAIN_NAME:
        return part
    return '"' + part.replace('"', '""') + '"'


@dataclass(frozen=True)
class ObjectRef:
    """A securable object: its kind and its fully qualified, normalised name."""

    kind: str
    name: tuple[str, ...]

    def display(self) -> str:
        return ".".join(display_part(p) for p in self.name)

    @property
    def leaf(self) -> str:
        return self.name[-1] if self.name else ""

    def database(self) -> ObjectRef | None:
        if self.kind in (ACCOUNT, WAREHOUSE, ROLE, USER, DATABASE, SHARE) or not self.name:
            return None
        return ObjectRef(DATABASE, self.name[:1])

    def schema(self) -> ObjectRef | None:
        if self.kind in SCHEMA_OBJECT_KINDS and len(self.name) == 3:
            return ObjectRef(SCHEMA, self.name[:2])
        return None


ACCOUNT_REF = ObjectRef(ACCOUNT, ())


@dataclass
class SecurableObject:
    ref: ObjectRef
    created_on: float
    comment: str | None = None
    # Kind-specific settings: managed_access (schema), is_secure and text (view), size and
    # state (warehouse), allowed_values (tag), signature and body (masking policy), ...
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrivilegeGrant:
    privilege: str
    on: ObjectRef
    grantee: str
    grant_option: bool
    granted_by: str
    created_on: float


@dataclass(frozen=True)
class FutureGrant:
    """A privilege given to every object of `object_kind` created later in `container`."""

    privilege: str
    object_kind: str
    container: ObjectRef
    grantee: str
    grant_option: bool
    created_on: float


@dataclass(frozen=True)
class ShareGrant:
    """A privilege granted to a share (https://docs.snowflake.com/en/sql-reference/sql/grant-privilege-share)."""

    privilege: str
    on: ObjectRef
    share: str
    granted_by: str
    created_on: float


@dataclass(frozen=True)
class RoleGrant:
    role: str
    grantee_kind: str  # ROLE or USER
    grantee: str
    granted_by: str
    created_on: float


@dataclass
class User:
    name: str
    password: str
    created_on: float
    default_role: str | None = None
    default_warehouse: str | None = None
    default_namespace: str | None = None
    login_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    comment: str | None = None
    disabled: bool = False


@dataclass(frozen=True)
class TagTarget:
    """What a tag value or masking policy is set on: an object, or one column of a table/view."""

    ref: ObjectRef
    column: str | None = None


@dataclass
class Account:
    objects: dict[ObjectRef, SecurableObject] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    grants: dict[ObjectRef, dict[tuple[str, str], PrivilegeGrant]] = field(default_factory=dict)
    future_grants: dict[tuple[str, str, ObjectRef, str], FutureGrant] = field(default_factory=dict)
    role_grants: dict[tuple[str, str, str], RoleGrant] = field(default_factory=dict)
    tag_values: dict[TagTarget, dict[ObjectRef, str]] = field(default_factory=dict)
    column_policies: dict[TagTarget, ObjectRef] = field(default_factory=dict)
    tag_policies: dict[ObjectRef, list[ObjectRef]] = field(default_factory=dict)
    # Per share name: (privilege, object) -> the grant to the share.
    share_grants: dict[str, dict[tuple[str, ObjectRef], ShareGrant]] = field(default_factory=dict)
    # Bumped on every role grant change, so the cached role closures know when to recompute.
    role_graph_version: int = 0

    # -- objects ---------------------------------------------------------------------------
    def add_object(
        self, ref: ObjectRef, owner: str, comment: str | None = None, **properties: Any
    ) -> SecurableObject:
        obj = SecurableObject(ref=ref, created_on=time.time(), comment=comment, properties=dict(properties))
        self.objects[ref] = obj
        self.grants.setdefault(ref, {})
        self.set_owner(ref, owner, granted_by=owner)
        return obj

    def get(self, ref: ObjectRef) -> SecurableObject | None:
        return self.objects.get(ref)

    def remove_object(self, ref: ObjectRef) -> None:
        """Drop an object and everything attached to it: grants, tags, policies, children."""
        doomed = [r for r in self.objects if r == ref or _is_inside(r, ref)]
        for r in doomed:
            self.objects.pop(r, None)
            self.grants.pop(r, None)
            for target in [t for t in self.tag_values if t.ref == r]:
                del self.tag_values[target]
            for target in [t for t in self.column_policies if t.ref == r]:
                del self.column_policies[target]
            for key in [k for k in self.future_grants if k[2] == r]:
                del self.future_grants[key]
        for values in self.tag_values.values():
            for tag in [t for t in values if t in doomed]:
                del values[tag]
        # An object dropped leaves every share it was granted to; a dropped share takes its grants
        # (https://docs.snowflake.com/en/user-guide/data-sharing-provider: a re-created object is new).
        for share, grants in list(self.share_grants.items()):
            if ObjectRef(SHARE, (share,)) in doomed:
                del self.share_grants[share]
                continue
            for share_key in [k for k in grants if k[1] in doomed]:
                del grants[share_key]

    def rename_object(self, old: ObjectRef, new: ObjectRef) -> None:
        moved = {r: r for r in self.objects if r == old or _is_inside(r, old)}
        for r in moved:
            renamed = ObjectRef(r.kind, new.name + r.name[len(old.name) :])
            obj = self.objects.pop(r)
            obj.ref = renamed
            self.objects[renamed] = obj
            grants = self.grants.pop(r, {})
            self.grants[renamed] = {k: _regrant(g, renamed) for k, g in grants.items()}
            for target in [t for t in self.tag_values if t.ref == r]:
                self.tag_values[TagTarget(renamed, target.column)] = self.tag_values.pop(target)
            for target in [t for t in self.column_policies if t.ref == r]:
                self.column_policies[TagTarget(renamed, target.column)] = self.column_policies.pop(target)

    def children(self, parent: ObjectRef, kind: str | None = None) -> list[SecurableObject]:
        return [
            o
            for r, o in self.objects.items()
            if _is_inside(r, parent)
            and len(r.name) == len(parent.name) + 1
            and (kind is None or r.kind == kind)
        ]

    def of_kind(self, kind: str) -> list[SecurableObject]:
        return [o for r, o in self.objects.items() if r.kind == kind]

    # -- ownership and privileges ------------------------------------------------------------
    def owner(self, ref: ObjectRef) -> str | None:
        for grant in self.grants.get(ref, {}).values():
            if grant.privilege == OWNERSHIP:
                return grant.grantee
        return None

    def set_owner(self, ref: ObjectRef, role: str, granted_by: str) -> None:
        grants = self.grants.setdefault(ref, {})
        if (OWNERSHIP, role) in grants:
            return  # transferring ownership to the owner changes nothing (SHOW GRANTS stays as it was)
        for key in [k for k in grants if k[0] == OWNERSHIP]:
            del grants[key]
        grants[(OWNERSHIP, role)] = PrivilegeGrant(OWNERSHIP, ref, role, False, granted_by, time.time())

    def grant(self, privilege: str, ref: ObjectRef, role: str, grant_option: bool, granted_by: str) -> None:
        grants = self.grants.setdefault(ref, {})
        existing = grants.get((privilege, role))
        if existing is not None and (existing.grant_option or not grant_option):
            return  # granting what is already held changes nothing, as in Snowflake
        grants[(privilege, role)] = PrivilegeGrant(
            privilege, ref, role, grant_option, granted_by, time.time()
        )

    def revoke(self, privilege: str, ref: ObjectRef, role: str, grant_option_only: bool = False) -> None:
        grants = self.grants.get(ref, {})
        existing = grants.get((privilege, role))
        if existing is None:
            return
        if grant_option_only:
            grants[(privilege, role)] = PrivilegeGrant(
                privilege, ref, role, False, existing.granted_by, existing.created_on
            )
        else:
            del grants[(privilege, role)]

    def grants_on(self, ref: ObjectRef) -> list[PrivilegeGrant]:
        return list(self.grants.get(ref, {}).values())

    def grants_to(self, role: str) -> list[PrivilegeGrant]:
        return [g for grants in self.grants.values() for g in grants.values() if g.grantee == role]

    # -- roles -----------------------------------------------------------------------------
    def roles_granted_to(self, grantee_kind: str, grantee: str) -> list[str]:
        return [
            g.role
            for g in self.role_grants.values()
            if g.grantee_kind == grantee_kind and g.grantee == grantee
        ]

    def grant_role(self, role: str, grantee_kind: str, grantee: str, granted_by: str) -> None:
        key = (role, grantee_kind, grantee)
        if key not in self.role_grants:
            self.role_grants[key] = RoleGrant(role, grantee_kind, grantee, granted_by, time.time())
            self.role_graph_version += 1

    def revoke_role(self, role: str, grantee_kind: str, grantee: str) -> None:
        if self.role_grants.pop((role, grantee_kind, grantee), None) is not None:
            self.role_graph_version += 1

    def drop_role(self, role: str) -> None:
        """A dropped role's grants go with it; what it owned passes to the role that dropped it."""
        for role_key in [k for k in self.role_grants if k[0] == role or (k[1] == ROLE and k[2] == role)]:
            del self.role_grants[role_key]
        self.role_graph_version += 1
        for future_key in [k for k in self.future_grants if k[3] == role]:
            del self.future_grants[future_key]
        self.remove_object(ObjectRef(ROLE, (role,)))
        for grants in self.grants.values():
            for grant_key in [k for k in grants if k[1] == role and k[0] != OWNERSHIP]:
                del grants[grant_key]

    # -- persistence -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "objects": [_obj_to_json(o) for o in self.objects.values()],
            "users": [asdict(u) for u in self.users.values()],
            "grants": [_grant_to_json(g) for gs in self.grants.values() for g in gs.values()],
            "future_grants": [
                {**asdict(f), "container": _ref_to_json(f.container)} for f in self.future_grants.values()
            ],
            "role_grants": [asdict(g) for g in self.role_grants.values()],
            "tag_values": [
                {"target": _target_to_json(t), "tag": _ref_to_json(tag), "value": v}
                for t, values in self.tag_values.items()
                for tag, v in values.items()
            ],
            "column_policies": [
                {"target": _target_to_json(t), "policy": _ref_to_json(p)}
                for t, p in self.column_policies.items()
            ],
            "share_grants": [
                {**asdict(g), "on": _ref_to_json(g.on)}
                for gs in self.share_grants.values()
                for g in gs.values()
            ],
            "tag_policies": [
                {"tag": _ref_to_json(t), "policies": [_ref_to_json(p) for p in ps]}
                for t, ps in self.tag_policies.items()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        account = cls()
        for o in data["objects"]:
            ref = _ref_from_json(o["ref"])
            account.objects[ref] = SecurableObject(ref, o["created_on"], o["comment"], o["properties"])
            account.grants.setdefault(ref, {})
        for u in data["users"]:
            account.users[u["name"]] = User(**u)
        for g in data["grants"]:
            ref = _ref_from_json(g["on"])
            grant = PrivilegeGrant(
                g["privilege"], ref, g["grantee"], g["grant_option"], g["granted_by"], g["created_on"]
            )
            account.grants.setdefault(ref, {})[(grant.privilege, grant.grantee)] = grant
        for f in data["future_grants"]:
            fg = FutureGrant(
                f["privilege"],
                f["object_kind"],
                _ref_from_json(f["container"]),
                f["grantee"],
                f["grant_option"],
                f["created_on"],
            )
            account.future_grants[(fg.privilege, fg.object_kind, fg.container, fg.grantee)] = fg
        for r in data["role_grants"]:
            rg = RoleGrant(**r)
            account.role_grants[(rg.role, rg.grantee_kind, rg.grantee)] = rg
        for tv in data["tag_values"]:
            target = _target_from_json(tv["target"])
            account.tag_values.setdefault(target, {})[_ref_from_json(tv["tag"])] = tv["value"]
        for cp in data["column_policies"]:
            account.column_policies[_target_from_json(cp["target"])] = _ref_from_json(cp["policy"])
        for tp in data["tag_policies"]:
            account.tag_policies[_ref_from_json(tp["tag"])] = [_ref_from_json(p) for p in tp["policies"]]
        for sg in data.get("share_grants", ()):  # absent from state written before shares existed
            share_grant = ShareGrant(
                sg["privilege"], _ref_from_json(sg["on"]), sg["share"], sg["granted_by"], sg["created_on"]
            )
            account.share_grants.setdefault(share_grant.share, {})[
                (share_grant.privilege, share_grant.on)
            ] = share_grant
        return account

    def save(self, path: Path) -> None:
        """Write atomically: a crash mid-write leaves the previous state, never half of one."""
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Account:
        with open(path, encoding="utf-8") as f:
            return cls.from_json(json.load(f))


def _is_inside(ref: ObjectRef, parent: ObjectRef) -> bool:
    if parent.kind not in (DATABASE, SCHEMA) or ref == parent:
        return False
    if ref.kind in (ACCOUNT, WAREHOUSE, ROLE, USER, DATABASE):
        return False
    return ref.name[: len(parent.name)] == parent.name and len(ref.name) > len(parent.name)


def _regrant(grant: PrivilegeGrant, ref: ObjectRef) -> PrivilegeGrant:
    return PrivilegeGrant(
        grant.privilege, ref, grant.grantee, grant.grant_option, grant.granted_by, grant.created_on
    )


def _ref_to_json(ref: ObjectRef) -> list[Any]:
    return [ref.kind, list(ref.name)]


def _ref_from_json(data: list[Any]) -> ObjectRef:
    return ObjectRef(data[0], tuple(data[1]))


def _target_to_json(target: TagTarget) -> dict[str, Any]:
    return {"ref": _ref_to_json(target.ref), "column": target.column}


def _target_from_json(data: dict[str, Any]) -> TagTarget:
    return TagTarget(_ref_from_json(data["ref"]), data["column"])


def _obj_to_json(obj: SecurableObject) -> dict[str, Any]:
    return {
        "ref": _ref_to_json(obj.ref),
        "created_on": obj.created_on,
        "comment": obj.comment,
        "properties": obj.properties,
    }


def _grant_to_json(grant: PrivilegeGrant) -> dict[str, Any]:
    return {**asdict(grant), "on": _ref_to_json(grant.on)}
