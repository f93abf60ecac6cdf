"""meshctl: the mesh's command line — validate, publish and plan data products, tail the audit trail."""

import importlib.metadata

SOURCE = "/meshctl"

#: meshctl's version, as installed (it names meshctl in the traces of what it publishes).
__version__ = importlib.metadata.version("meshplane-meshctl")
