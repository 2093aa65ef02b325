"""`mlep import`: `az ml` managed online endpoint and deployment YAML -> one endpoint spec.

The input is what users pass to `az ml online-endpoint create --file` and
`az ml online-deployment create --file` (schemas: managedOnlineEndpoint.schema.json and
managedOnlineDeployment.schema.json at https://azuremlschemas.azureedge.net/latest/). Field names
mostly carry over as they are; what has no equivalent here is dropped with a note, and what would
change behaviour silently (local assets the az ml CLI uploads, unpinned versions, secrets,
Kubernetes endpoints) is an error that says how to fix it. The result is validated by the same
loader as `mlep plan`, so an import that succeeds always loads.

`convert` runs the whole conversion. Its pieces: `files` (an az ml file read with the line of
every key, and what was found in it), `fields` (the az ml field tables, and the helpers that
check, drop and note fields), `endpoint` and `deployment` (each file's fields), `assets` (model,
environment and code references), `scale` (scale_settings to autoscale), `variables`
(environment variables, and the secrets that must not be among them), `spec` (the spec being
built, and its validation by the stack loader with problems traced back to the az ml lines).
"""

from mlep.authoring.azml.convert import Converted, convert

__all__ = ["Converted", "convert"]
