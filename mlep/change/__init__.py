"""change: the traffic change workflow.

`review` (the pull-request review of a traffic change), `rollout` and `rollback` (the next
step of a rollout, the return to the stable deployment: the edit and the checks around it),
`guardrails` (live metrics against the endpoint's alert thresholds, one module per metrics
source: `prometheus`, `azure`) and `workflow` (a rollout or rollback from start to
`--apply`).

It imports the stack room, `models` and the public functions of `mlep.engine`; never
Pulumi, never the engine's modules.
"""
