"""`python -m snowlocal serve ...`."""

from snowlocal.cli import app

app()
