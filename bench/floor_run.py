"""Run the floor program (bench/floor) under mlep's mock runtime; write what it registered.

python -m bench.floor_run STACK PLAN.json provider|generic OUT.json

OUT.json maps each URN to the inputs registered for it (secrets as "[secret]", the plan
document's form), for bench/run.py to check against the plan.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlep.engine.runtime import one_shot_process, run_program

PROGRAM = Path(__file__).resolve().parent / "floor" / "__main__.py"


def main() -> None:
    stack, plan, classes, out = sys.argv[1:5]
    one_shot_process()  # as the `mlep` command runs
    config = {"floor:plan": plan, "floor:classes": classes}
    run = run_program(PROGRAM, "ml-endpoints", stack, config, [])
    Path(out).write_text(json.dumps({r.urn: r.inputs for r in run.resources}))


if __name__ == "__main__":
    main()
