"""Sharing's plans run through the gateway on snowlocal, next to products the provisioner made.

Until sharing has its own bootstrap identity (issue 9), its plans run as the provisioner's: that
role owns the reader roles today, and granting a role takes its ownership.
"""

from tests.integration.provisioner.conftest import counting, gateway, provisioner_settings, sandbox

__all__ = ["counting", "gateway", "provisioner_settings", "sandbox"]
