"""Run the floor program (bench/floor) under mlep's mock runtime; write the URNs it registered.

python -m bench.floor_run PLAN.json URNS.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mlep.mock_runtime import run_program

PROGRAM = Path(__file__).resolve().parent / "floor" / "__main__.py"


def main() -> None:
    stack, plan, urns = sys.argv[1:4]
    run = run_program(PROGRAM, "ml-endpoints", stack, {"floor:plan": plan}, [])
    Path(urns).write_text(json.dumps(sorted(r.urn for r in run.resources)))


if __name__ == "__main__":
    main()
