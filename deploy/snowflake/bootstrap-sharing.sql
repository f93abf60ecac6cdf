-- Meshplane sharing: the least-privilege identity it runs as.
--
-- Run once, after bootstrap.sql (the provisioner's, which creates MESHPLANE_READER_ROLES), by an
-- administrator who can use USERADMIN and SECURITYADMIN. Safe to run again.
--
-- What sharing gets, and why each is needed:
--   * its own role MESHPLANE_SHARING, rolled up to SYSADMIN
--     (https://docs.snowflake.com/en/user-guide/security-access-control-considerations);
--   * the role MESHPLANE_READER_ROLES, which owns every product's reader role and nothing else:
--     sharing grants a reader role to a consumer domain's consumer role and revokes it, which
--     takes the OWNERSHIP of the granted role or MANAGE GRANTS
--     (https://docs.snowflake.com/en/sql-reference/sql/grant-role ,
--     https://docs.snowflake.com/en/sql-reference/sql/revoke-role). Ownership also lets a holder
--     drop or rename a reader role: Snowflake has no narrower privilege for granting a role;
--   * CREATE SHARE on the account: one secure share per product version for outside accounts
--     (https://docs.snowflake.com/en/sql-reference/sql/create-share);
--   * MANAGE SHARE TARGET on the account: adding an account to a share, or removing it, takes the
--     share's OWNERSHIP and this privilege; CREATE SHARE does not include it
--     (https://docs.snowflake.com/en/sql-reference/sql/alter-share ,
--     https://docs.snowflake.com/en/user-guide/security-access-privileges-shares).
--   Still missing for outside accounts (see docs/architecture.md, Sharing): granting a product's
--   objects to a share takes each privilege WITH GRANT OPTION, which no role of sharing holds yet.
--   * its own warehouse MESHPLANE_SHARING_WH, XSMALL, created suspended: a share's grants go in one
--     multi-statement request, which needs a warehouse
--     (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-multiple-statements); a
--     single grant, a revocation and SHOW need none.
--   Not granted: ACCOUNTADMIN, SECURITYADMIN, MANAGE GRANTS.
--   * its user MESHPLANE_SHARING_SVC, a service user; give it a key pair after this script:
--     ALTER USER MESHPLANE_SHARING_SVC SET RSA_PUBLIC_KEY = '<key>'
--     (https://docs.snowflake.com/en/user-guide/key-pair-auth).

USE ROLE USERADMIN;

CREATE ROLE IF NOT EXISTS MESHPLANE_SHARING
  COMMENT = 'Meshplane sharing: grants reader roles and secure shares to consumers, and revokes them';

CREATE ROLE IF NOT EXISTS MESHPLANE_READER_ROLES
  COMMENT = 'Meshplane: owns every data product reader role (held by the provisioner and sharing)';

CREATE USER IF NOT EXISTS MESHPLANE_SHARING_SVC
  TYPE = SERVICE
  DEFAULT_ROLE = MESHPLANE_SHARING
  DEFAULT_WAREHOUSE = MESHPLANE_SHARING_WH
  COMMENT = 'Meshplane sharing service (key-pair authentication)';

GRANT ROLE MESHPLANE_SHARING TO USER MESHPLANE_SHARING_SVC;

USE ROLE SECURITYADMIN;

GRANT ROLE MESHPLANE_SHARING TO ROLE SYSADMIN;
GRANT ROLE MESHPLANE_READER_ROLES TO ROLE MESHPLANE_SHARING;
GRANT CREATE SHARE ON ACCOUNT TO ROLE MESHPLANE_SHARING;
GRANT MANAGE SHARE TARGET ON ACCOUNT TO ROLE MESHPLANE_SHARING;

USE ROLE SYSADMIN;

CREATE WAREHOUSE IF NOT EXISTS MESHPLANE_SHARING_WH
  WAREHOUSE_SIZE = XSMALL
  AUTO_SUSPEND = 60
  AUTO_RESUME = TRUE
  INITIALLY_SUSPENDED = TRUE
  COMMENT = 'Meshplane sharing: multi-statement requests (secure shares) only';

GRANT USAGE ON WAREHOUSE MESHPLANE_SHARING_WH TO ROLE MESHPLANE_SHARING;
