"""snowlocal: a local Snowflake account served to snowflake-connector-python."""
