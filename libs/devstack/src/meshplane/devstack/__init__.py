"""Starts and stops the local stack (Kafka broker, snowlocal) for make up and tests."""
