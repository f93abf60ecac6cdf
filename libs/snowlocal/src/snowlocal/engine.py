"""The account server's core: sessions, the statement loop, and the context handlers work in.

A request's text is split into statements and run in order; the first failure stops the rest
(https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements). Each
statement goes to the module registered for its leading keywords (`registry`), or to fakesnow
through `sqlpath`, which checks privileges first and records ownership after. All statements
run under one lock: the account model and the DuckDB catalog change together or not at all.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fakesnow.conn import FakeSnowflakeConnection
from fakesnow.instance import FakeSnow

from snowlocal import catalog
from snowlocal.account import (
    ACCOUNT_REF,
    ACCOUNTADMIN,
    DATABASE,
    PUBLIC,
    ROLE,
    SCHEMA,
    SYSTEM_ROLES,
    TABLE,
    USER,
    VIEW,
    Account,
    ObjectRef,
    SecurableObject,
    User,
)
from snowlocal.errors import (
    SnowflakeError,
    already_exists,
    does_not_exist_or_not_authorized,
    incorrect_login,
    insufficient_privileges,
    multiple_statements_failed,
    role_not_assigned,
    statement_count_mismatch,
)
from snowlocal.privileges import (
    SYSTEM_ACCOUNT_PRIVILEGES,
    SYSTEM_ROLE_PARENTS,
    RoleGraph,
    has_any_privilege,
    has_privilege,
)
from snowlocal.registry import find_handler
from snowlocal.results import ResultSet
from snowlocal.tokens import TokenCursor, statement_spans

ACCOUNT_NAME = "SNOWLOCAL"
STATE_FILE = "account.json"


@dataclass
class Session:
    token: str
    user: str
    role: str
    conn: FakeSnowflakeConnection
    warehouse: str | None = None
    secondary_roles_all: bool = False
    results: dict[str, Any] = field(default_factory=dict)
    # Session parameters set by ALTER SESSION or at login (QUERY_TAG, ...): name -> value.
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def database(self) -> str | None:
        return self.conn.database if self.conn.database_set else None

    @property
    def schema(self) -> str | None:
        return self.conn.schema if self.conn.schema_set else None


@dataclass
class FakesnowResult:
    """A statement fakesnow ran; the server encodes it from the cursor."""

    cursor: Any
    sql: str
    # The statement's type id as the connector reads it (DML ids carry row counts).
    statement_type_id: int


Result = ResultSet | FakesnowResult


class Snowlocal:
    """One local Snowflake account: the account model beside fakesnow's DuckDB."""

    def __init__(
        self,
        data_dir: Path | None = None,
        admin_user: str = "ADMIN",
        admin_password: str = "admin",  # noqa: S107 - the documented login of a local test account
        edition: str = "enterprise",
    ) -> None:
        self.data_dir = data_dir
        #: ``enterprise`` or ``standard``: masking policies (and tag-based masking) need Enterprise
        #: Edition or higher (https://docs.snowflake.com/en/user-guide/security-column-intro ,
        #: "This feature requires Enterprise Edition (or higher)").
        self.edition = edition
        self.lock = threading.RLock()
        self.sessions: dict[str, Session] = {}
        duck_dir = None
        if data_dir is not None:
            duck_dir = data_dir / "duckdb"
            duck_dir.mkdir(parents=True, exist_ok=True)
        # Databases and schemas exist only when created, as in Snowflake: no auto-create on login.
        self.fs = FakeSnow(create_database_on_connect=False, create_schema_on_connect=False, db_path=duck_dir)
        state = data_dir / STATE_FILE if data_dir is not None else None
        if state is not None and state.exists():
            self.account = Account.load(state)
            catalog.reattach_databases(self)
        else:
            self.account = Account()
            self._bootstrap(admin_user.upper(), admin_password)
        self.roles = RoleGraph(self.account)

    def _bootstrap(self, admin_user: str, admin_password: str) -> None:
        account = self.account
        for role in SYSTEM_ROLES:
            account.add_object(ObjectRef(ROLE, (role,)), owner=ACCOUNTADMIN if role != ACCOUNTADMIN else role)
        for child, parent in SYSTEM_ROLE_PARENTS.items():
            account.grant_role(child, ROLE, parent, granted_by=ACCOUNTADMIN)
        for role, privileges in SYSTEM_ACCOUNT_PRIVILEGES.items():
            for privilege in privileges:
                account.grant(privilege, ACCOUNT_REF, role, grant_option=False, granted_by=ACCOUNTADMIN)
        account.users[admin_user] = User(
            name=admin_user,
            password=admin_password,
            created_on=account.objects[ObjectRef(ROLE, (PUBLIC,))].created_on,
            default_role=ACCOUNTADMIN,
            login_name=admin_user,
        )
        account.add_object(ObjectRef(USER, (admin_user,)), owner=ACCOUNTADMIN)
        account.grant_role(ACCOUNTADMIN, USER, admin_user, granted_by=ACCOUNTADMIN)
        self.persist()

    def persist(self) -> None:
        if self.data_dir is not None:
            self.account.save(self.data_dir / STATE_FILE)

    def other_accounts(self) -> frozenset[str]:
        """The organisation's other accounts (``ORG.ACCOUNT``), which a share may be given to. None
        yet: this snowlocal serves one account, so an account added to a share is not kept, as
        Snowflake does with an account that does not exist."""
        return frozenset()

    # -- sessions --------------------------------------------------------------------------
    def login(
        self,
        user: str,
        password: str,
        role: str | None = None,
        database: str | None = None,
        schema: str | None = None,
        warehouse: str | None = None,
    ) -> Session:
        with self.lock:
            found = self.account.users.get(user.upper()) or self.account.users.get(user)
            if found is None or found.disabled or not secrets.compare_digest(found.password, password):
                raise incorrect_login()
            granted = self.roles.user_roles(found.name)
            wanted = _normalise(role) if role else found.default_role
            if wanted is not None and wanted not in granted:
                if role:
                    # An explicitly requested role must be one the user holds.
                    raise role_not_assigned(wanted)
                wanted = None
            conn = self.fs.connect(None, None)
            session = Session(secrets.token_urlsafe(32), found.name, wanted or PUBLIC, conn)
            ctx = Context(self, session)
            # Unusable defaults are skipped silently, as Snowflake does at login.
            for kind, name in (
                (DATABASE, database),
                (SCHEMA, schema),
                ("WAREHOUSE", warehouse or found.default_warehouse),
            ):
                if name:
                    with contextlib.suppress(SnowflakeError):
                        ctx.use(kind, name)
            self.sessions[session.token] = session
            return session

    def session(self, token: str) -> Session | None:
        return self.sessions.get(token)

    def close_session(self, token: str) -> None:
        with self.lock:
            session = self.sessions.pop(token, None)
            if session is not None:
                session.conn.close()

    # -- statements ------------------------------------------------------------------------
    def execute(self, session: Session, sql: str, params: Any = None, *, expected: int = 1) -> list[Result]:
        """Run every statement of the request in order; the first error stops the rest.

        ``expected`` is the request's MULTI_STATEMENT_COUNT: 1 (the default) for a single
        statement, 0 for any number, else the exact number. Any value but 1 makes it a
        multi-statement request, which (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements):
        is refused unless the count matches, before anything runs; "requires that a valid
        warehouse is available in a session" (so it resumes one that auto-resumes), whatever its
        statements; and fails as a whole with 100132 when one statement fails, the statements
        before it staying applied.
        """
        spans = statement_spans(sql)
        if not spans:
            raise SnowflakeError(900, "42000", "Empty SQL statement.")
        multi = expected != 1
        if (multi and expected != 0 and expected != len(spans)) or (not multi and len(spans) != 1):
            raise statement_count_mismatch(len(spans), expected)
        results: list[Result] = []
        with self.lock:
            if multi:
                from snowlocal import sqlpath

                ctx = Context(self, session)
                for check in sqlpath.COMPUTE_CHECKS:
                    check(ctx)
                if ctx.changed:
                    self.persist()
            for start, end in spans:
                text = sql[start:end]
                try:
                    results.append(self._execute_one(session, text, params))
                except SnowflakeError as error:
                    if not multi:
                        raise
                    raise multiple_statements_failed(sql, start, text, error) from error
        return results

    def _execute_one(self, session: Session, text: str, params: Any) -> Result:
        from snowlocal import sqlpath

        ctx = Context(self, session)
        cursor = TokenCursor(text)
        handler = find_handler(cursor)
        if handler is not None:
            if params:
                raise SnowflakeError(
                    2, "0A000", "Bind variables in this statement are not supported by snowlocal."
                )
            result = handler(ctx, cursor)
            if result is not None:
                if ctx.changed:
                    self.persist()
                return result  # type: ignore[no-any-return]
        result = sqlpath.run(ctx, text, params)
        if ctx.changed:
            self.persist()
        return result


class Context:
    """What a handler sees of one statement's execution: the account, the session, and checks."""

    def __init__(self, engine: Snowlocal, session: Session) -> None:
        self.engine = engine
        self.session = session
        self.account = engine.account
        self.changed = False
        self._roles: frozenset[str] | None = None

    @property
    def role(self) -> str:
        return self.session.role

    def roles(self) -> frozenset[str]:
        """The roles whose privileges this statement may use."""
        if self._roles is None:
            graph = self.engine.roles
            roles = graph.closure(self.session.role)
            if self.session.secondary_roles_all:
                roles = roles | graph.user_roles(self.session.user)
            self._roles = roles
        return self._roles

    def mark_changed(self) -> None:
        self.changed = True
        self._roles = None

    def new_query_id(self) -> str:
        return str(uuid.uuid4())

    # -- names -----------------------------------------------------------------------------
    def qualify(self, parts: tuple[str, ...], depth: int) -> tuple[str, ...]:
        """Complete a partial name with the session's database and schema (depth 2 or 3)."""
        if len(parts) > depth:
            raise SnowflakeError(
                2003, "02000", f"SQL compilation error:\nInvalid object name '{'.'.join(parts)}'."
            )
        missing = depth - len(parts)
        context = [self.session.database, self.session.schema][: depth - 1]
        prefix = context[len(context) - missing :] if missing else []
        if any(p is None for p in prefix):
            what = "database" if missing == depth - 1 or prefix[0] is None else "schema"
            raise SnowflakeError(
                90105 if what == "database" else 90106,
                "22000",
                f"Cannot perform operation. This session does not have a current {what}. "
                f"Call 'USE {what.upper()}', or use a qualified name.",
            )
        return tuple(p for p in prefix if p is not None) + parts

    def ref(self, kind: str, parts: tuple[str, ...]) -> ObjectRef:
        if kind == DATABASE:
            return ObjectRef(DATABASE, parts[-1:]) if len(parts) == 1 else self._bad_name(parts)
        if kind == SCHEMA:
            return ObjectRef(SCHEMA, self.qualify(parts, 2))
        if kind in (ROLE, USER, "WAREHOUSE"):
            return ObjectRef(kind, parts) if len(parts) == 1 else self._bad_name(parts)
        return ObjectRef(kind, self.qualify(parts, 3))

    def _bad_name(self, parts: tuple[str, ...]) -> ObjectRef:
        raise SnowflakeError(
            2003, "02000", f"SQL compilation error:\nInvalid identifier '{'.'.join(parts)}'."
        )

    # -- checks ----------------------------------------------------------------------------
    def can_see(self, ref: ObjectRef) -> bool:
        return has_any_privilege(self.account, self.roles(), ref)

    def has(self, privilege: str, ref: ObjectRef) -> bool:
        return has_privilege(self.account, self.roles(), privilege, ref)

    def require_path(self, ref: ObjectRef) -> None:
        """USAGE on the database and schema that hold `ref`, or Snowflake's 002003 naming them."""
        db = ref.database()
        if db is not None and (self.account.get(db) is None or not self.has("USAGE", db)):
            raise does_not_exist_or_not_authorized("Database", db.display())
        schema = ref.schema() if ref.kind != SCHEMA else None
        if schema is not None and (self.account.get(schema) is None or not self.has("USAGE", schema)):
            raise does_not_exist_or_not_authorized("Schema", schema.display())

    def require_object(self, ref: ObjectRef, privilege: str | None = None) -> None:
        """The object exists and this role may use it: 002003 when it may not even see it."""
        self.require_path(ref)
        label = {DATABASE: "Database", SCHEMA: "Schema"}.get(ref.kind, "Object")
        if self.account.get(ref) is None or not self.can_see(ref):
            raise does_not_exist_or_not_authorized(label, ref.display())
        if privilege is not None and not self.has(privilege, ref):
            raise insufficient_privileges(f"operate on {ref.kind.lower()} '{ref.leaf}'")

    def require_account_privilege(self, privilege: str) -> None:
        if not self.has(privilege, ACCOUNT_REF):
            raise insufficient_privileges(f"operate on account '{ACCOUNT_NAME}'")

    def check_create(
        self, ref: ObjectRef, privilege: str, *, if_not_exists: bool, replace: bool
    ) -> CreateCheck:
        """The checks every CREATE [OR REPLACE] ... [IF NOT EXISTS] makes, in Snowflake's order.

        The privilege is needed on the container: the schema for schema objects, the database for
        a schema, the account for databases, roles, users and warehouses
        (https://docs.snowflake.com/en/user-guide/security-access-control-privileges).
        """
        container = ref.schema() or ref.database()
        if container is None:
            self.require_account_privilege(privilege)
        else:
            self.require_object(container)
            if not self.has(privilege, container):
                raise insufficient_privileges(f"operate on {container.kind.lower()} '{container.leaf}'")
        existing = self.account.get(ref)
        if existing is None:
            return CreateCheck()
        if if_not_exists:
            return CreateCheck(skip=True)
        if not replace:
            raise already_exists(ref.kind, ref.display())
        self.require_ownership(ref)
        return CreateCheck(existing=existing)

    def require_ownership(self, ref: ObjectRef) -> None:
        self.require_object(ref)
        if not self.has("OWNERSHIP", ref):
            raise insufficient_privileges(f"operate on {ref.kind.lower()} '{ref.leaf}'")

    def find_relation(self, parts: tuple[str, ...]) -> ObjectRef:
        """A table or view by a possibly partial name; 002003 when neither exists."""
        table = self.ref(TABLE, parts)
        if self.account.get(table) is not None:
            return table
        view = ObjectRef(VIEW, table.name)
        if self.account.get(view) is not None:
            return view
        self.require_path(table)
        raise does_not_exist_or_not_authorized("Object", table.display())

    # -- session state -----------------------------------------------------------------------
    def use(self, kind: str, name: str) -> None:
        from snowlocal import sqlpath

        sqlpath.use(self, kind, name)


@dataclass(frozen=True)
class CreateCheck:
    """What a CREATE may go on to do once its privileges are checked.

    `skip`: the object exists and IF NOT EXISTS was given, so nothing happens. `existing`: the
    object OR REPLACE replaces (its ownership already checked). Neither: create anew.
    """

    skip: bool = False
    existing: SecurableObject | None = None


def _normalise(name: str) -> str:
    if name.startswith('"') and name.endswith('"') and len(name) > 1:
        return name[1:-1]
    return name.upper()
