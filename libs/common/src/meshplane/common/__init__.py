"""Meshplane common library."""
