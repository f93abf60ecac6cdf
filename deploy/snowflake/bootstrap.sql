-- Meshplane provisioner: the least-privilege identity it runs as.
--
-- The account must be Enterprise Edition or higher: each domain masks its PII with masking
-- policies set on a tag, which Standard Edition does not have
-- (https://docs.snowflake.com/en/user-guide/security-column-intro , "This feature requires
-- Enterprise Edition (or higher)"). The provisioner checks before its first domain, and
-- `meshctl doctor` (run as MESHPLANE_PROVISIONER_SVC) checks the account and this script's grants.
--
-- Run once, by an administrator who can use USERADMIN, SYSADMIN and SECURITYADMIN (for example a
-- user holding ACCOUNTADMIN). Safe to run again: every statement is IF NOT EXISTS or a grant, and
-- granting what is already held changes nothing.
--
-- What the provisioner gets, and why each is needed:
--   * its own role MESHPLANE_PROVISIONER, rolled up to SYSADMIN so the system administrators keep
--     control of everything it creates (the role hierarchy Snowflake recommends:
--     https://docs.snowflake.com/en/user-guide/security-access-control-considerations);
--   * CREATE DATABASE, CREATE WAREHOUSE and CREATE ROLE on the account: one database, warehouse
--     and role tree per domain. These are the global privileges behind CREATE DATABASE, CREATE
--     WAREHOUSE and CREATE ROLE
--     (https://docs.snowflake.com/en/user-guide/security-access-control-privileges#global-privileges-account-level-privileges);
--   * APPLY MASKING POLICY on the account: setting a masking policy on a tag (tag-based masking)
--     takes this global privilege
--     (https://docs.snowflake.com/en/user-guide/tag-based-masking-policies , and the centralized
--     model of https://docs.snowflake.com/en/user-guide/security-column-intro ).
--   * the role MESHPLANE_READER_ROLES, which owns every product's reader role: the provisioner
--     creates a reader role and hands its ownership to this role, which it holds (so the hand-off
--     goes to a role active in its session, as behaviour change 2395 will require:
--     https://docs.snowflake.com/en/release-notes/bcr-bundles/2026_07/bcr-2395), and keeps
--     dropping reader roles at retirement through it. Sharing holds it too: a role is granted by
--     its owner or with MANAGE GRANTS (https://docs.snowflake.com/en/sql-reference/sql/grant-role),
--     and owning the reader roles, nothing else, is the least that lets sharing grant them.
--   Not granted: APPLY TAG. The provisioner owns (through each domain's admin role) both the
--   tags and the objects it tags, and APPLY on a tag plus OWNERSHIP of the object is enough to
--   set a tag (https://docs.snowflake.com/en/user-guide/object-tagging , "Tag privileges").
--   Not granted: ACCOUNTADMIN, SECURITYADMIN, MANAGE GRANTS, CREATE USER. Grants inside a domain
--   are made as the owner of the (managed-access) schemas; roles are granted by their owner.
--   * its own warehouse MESHPLANE_PROVISIONER_WH, XSMALL, created suspended: the provisioner reads
--     state with SHOW (no warehouse) and needs a warehouse only for multi-statement requests
--     (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements);
--   * its user MESHPLANE_PROVISIONER_SVC, a service user (TYPE = SERVICE: no password login, no
--     MFA prompts; https://docs.snowflake.com/en/sql-reference/sql/create-user). Give it a key
--     pair after this script:  ALTER USER MESHPLANE_PROVISIONER_SVC SET RSA_PUBLIC_KEY = '<key>'
--     (https://docs.snowflake.com/en/user-guide/key-pair-auth).

USE ROLE USERADMIN;

CREATE ROLE IF NOT EXISTS MESHPLANE_PROVISIONER
  COMMENT = 'Meshplane provisioner: creates domains (database, warehouse, roles) and data products';

CREATE USER IF NOT EXISTS MESHPLANE_PROVISIONER_SVC
  TYPE = SERVICE
  DEFAULT_ROLE = MESHPLANE_PROVISIONER
  DEFAULT_WAREHOUSE = MESHPLANE_PROVISIONER_WH
  COMMENT = 'Meshplane provisioner service (key-pair authentication)';

GRANT ROLE MESHPLANE_PROVISIONER TO USER MESHPLANE_PROVISIONER_SVC;

CREATE ROLE IF NOT EXISTS MESHPLANE_READER_ROLES
  COMMENT = 'Meshplane: owns every data product reader role (held by the provisioner and sharing)';

USE ROLE SECURITYADMIN;

-- The provisioner's role rolls up to SYSADMIN.
GRANT ROLE MESHPLANE_PROVISIONER TO ROLE SYSADMIN;
GRANT ROLE MESHPLANE_READER_ROLES TO ROLE MESHPLANE_PROVISIONER;

GRANT CREATE DATABASE ON ACCOUNT TO ROLE MESHPLANE_PROVISIONER;
GRANT CREATE WAREHOUSE ON ACCOUNT TO ROLE MESHPLANE_PROVISIONER;
GRANT CREATE ROLE ON ACCOUNT TO ROLE MESHPLANE_PROVISIONER;
GRANT APPLY MASKING POLICY ON ACCOUNT TO ROLE MESHPLANE_PROVISIONER;

USE ROLE SYSADMIN;

CREATE WAREHOUSE IF NOT EXISTS MESHPLANE_PROVISIONER_WH
  WAREHOUSE_SIZE = XSMALL
  AUTO_SUSPEND = 60
  AUTO_RESUME = TRUE
  INITIALLY_SUSPENDED = TRUE
  COMMENT = 'Meshplane provisioner: multi-statement requests only';

GRANT USAGE ON WAREHOUSE MESHPLANE_PROVISIONER_WH TO ROLE MESHPLANE_PROVISIONER;
