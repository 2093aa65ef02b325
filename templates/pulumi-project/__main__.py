"""The Pulumi program (Pulumi.yaml `runtime: python`): the composition root in ml_endpoints."""

from ml_endpoints import main

main()
