"""The provisioner: product lifecycle events in, Snowflake objects and audit events out."""

SERVICE_NAME = "provisioner"
SERVICE_VERSION = "0.1.0"
