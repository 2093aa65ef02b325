"""engine: runs the Pulumi program offline and judges what it declares.

Holds the mock runtime that stands in for the Pulumi engine (`runtime`, `mocks`), the one
seam for the Pulumi SDK's private details (`sdk`), the in-process evaluation of the policy
pack (`policy`) and its config (`policy_config`), the plan document (`plan`), its rendering
(`render`), the Kubernetes manifests writer (`manifests`) and `pulumi up` through the
Automation API (`automation`).

This is the only room of mlep that imports `pulumi` or `pulumi_policy`. It may import the
stack room and `models`. The other rooms use only what this module exports.
"""

from mlep.engine.automation import pulumi_up, require_cli
from mlep.engine.base_rules import rules_at
from mlep.engine.diff import ResourceChange, instances, value_text
from mlep.engine.diff import summary as resource_summary
from mlep.engine.plan import Plan, check_out, plan_stack
from mlep.engine.policy import Violation
from mlep.engine.policy_config import stack_policy_config
from mlep.engine.render import print_plan
from mlep.engine.runtime import ProgramError, one_shot_process

__all__ = [
    "Plan",
    "ProgramError",
    "ResourceChange",
    "Violation",
    "check_out",
    "instances",
    "one_shot_process",
    "plan_stack",
    "print_plan",
    "pulumi_up",
    "require_cli",
    "resource_summary",
    "rules_at",
    "stack_policy_config",
    "value_text",
]
