"""meshctl: the mesh's command line — validate, publish and plan data products, tail the audit trail."""

SOURCE = "/meshctl"
