"""authoring: new endpoints in a stack.

`templates` (endpoint templates for `mlep new`), `azml` (`az ml` online endpoint and
deployment YAML to a spec) and `adding` (insert the spec into a stack file, only if the
stack still plans without a mandatory violation).

It imports the stack room, `models` and the public functions of `mlep.engine`; never
Pulumi, never the engine's modules.
"""
