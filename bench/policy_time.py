"""Time the policy evaluation of a plan alone: mlep.engine.policy.evaluate over the plan's
resources, with the stack's policy config. Prints {"seconds": ..., "violations": ...}.

    python -m bench.policy_time PROJECT_DIR STACK PLAN.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bench.fleet import is_component
from mlep.engine.policy import evaluate
from mlep.engine.policy_config import stack_policy_config
from mlep.engine.runtime import STACK_TYPE, Registration
from mlep.stack import StackRef


def main() -> None:
    project, stack, plan = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    config = StackRef(project, stack).load()[1]
    resources = [
        Registration(
            urn=r["urn"],
            type=r["type"],
            name=r["name"],
            custom=not is_component(r["type"]) and r["type"] != STACK_TYPE,
            parent=r["parent"],
            dependencies=r["dependencies"],
            protect=r["protect"],
            inputs=r["inputs"],
        )
        for r in json.loads(plan.read_text())["resources"]
    ]
    pack = project / "policies"
    settings = stack_policy_config(pack, config, None, None)
    start = time.perf_counter()
    result = evaluate(pack, resources, settings)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "violations": len(result.violations)}))


if __name__ == "__main__":
    main()
