"""Generate docs/policies.md from the policy pack itself, so it cannot drift: every policy's
rule ids, default level (and per-environment level), severity, description, remediation and
tunables. Each policy's `url` points at its section here.

python -m scripts.policy_reference           # print it
python -m scripts.policy_reference --write   # rewrite docs/policies.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACK = ROOT / "policies"
DOC = ROOT / "docs" / "policies.md"
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))

from mlep_policies.pack import POLICIES  # noqa: E402

HEADER = """# The policy pack

Generated from `policies/` by `python -m scripts.policy_reference --write`; a test fails when it
is stale. The rules and their sources are in POLICY-RULES.md. Levels are the pack's defaults;
`policies/config/non-prod.json` changes some for every environment but prod, and any stack can
override levels and tunables with policy config (`mlep plan --policy-config FILE`, or
`pulumi preview --policy-pack-config FILE`; `{"all": "advisory"}` sets every level).
"""


def render() -> str:
    non_prod = json.loads((PACK / "config" / "non-prod.json").read_text())
    parts = [
        HEADER,
        "| policy | kind | level (prod) | level (other) | severity |",
        "|---|---|---|---|---|",
    ]
    for policy in POLICIES:
        level = policy.enforcement_level.value if policy.enforcement_level else "advisory"
        other = non_prod.get(policy.name, level)
        kind = "stack" if type(policy).__name__.startswith("Stack") else "resource"
        parts.append(
            f"| [`{policy.name}`](#{policy.name}) | {kind} | {level} | "
            f"{other if isinstance(other, str) else other.get('enforcementLevel', '-')} | "
            f"{policy.severity.value if policy.severity else '-'} |"
        )
    for policy in POLICIES:
        parts += [
            "",
            f"## {policy.name}",
            "",
            policy.description,
            "",
            f"**Fix:** {policy.remediation_steps}",
        ]
        schema = policy.config_schema.properties if policy.config_schema else {}
        if schema:
            parts += ["", "| tunable | type | default | meaning |", "|---|---|---|---|"]
            for name, spec in schema.items():
                parts.append(
                    f"| `{name}` | {spec.get('type', '')} | {_default(spec)} | "
                    f"{spec.get('description', '')} |"
                )
    return "\n".join(parts) + "\n"


def _default(spec: dict[str, Any]) -> str:
    return f"`{json.dumps(spec['default'])}`" if "default" in spec else "-"


def main() -> None:
    if "--write" in sys.argv[1:]:
        DOC.write_text(render())
    else:
        sys.stdout.write(render())


if __name__ == "__main__":
    main()
