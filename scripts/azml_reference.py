"""Generate the README's table of `az ml` fields and what `mlep import` does with each, from
the tables import itself runs on (mlep/authoring/azml/fields.py), so it cannot drift.

python -m scripts.azml_reference           # print it
python -m scripts.azml_reference --write   # rewrite the block in README.md
"""

from __future__ import annotations

import sys

from mlep.authoring.azml.fields import (
    DEPLOYMENT,
    ENDPOINT,
    INLINE_ENVIRONMENT,
    PROBE_FIELDS,
    REQUEST_FIELDS,
    SCALE_FIELDS,
    AzmlField,
)
from scripts.readme_block import ReadmeBlock

_FILES = (
    ("endpoint", "", ENDPOINT),
    ("deployment", "", DEPLOYMENT),
    ("deployment", "environment.", INLINE_ENVIRONMENT),
)


def render() -> str:
    rows = ["| file | field | what import does |", "|---|---|---|"]
    for file, prefix, fields in _FILES:
        # Fields import treats alike (the outputs of `az ml ... show`) share one row.
        grouped: dict[str, list[str]] = {}
        for field in fields:
            grouped.setdefault(_does(field), []).append(f"`{prefix}{field.name}`")
        rows += [f"| {file} | {', '.join(names)} | {does} |" for does, names in grouped.items()]
    rows.append("")
    rows.append(
        "Inside the fields kept: `request_settings` takes "
        + _names(REQUEST_FIELDS)
        + "; each probe takes "
        + _names(PROBE_FIELDS)
        + "; `scale_settings` takes "
        + _names(SCALE_FIELDS)
        + ". Any other field, at any level, is refused with the closest known name."
    )
    return "\n".join(rows) + "\n"


def _does(field: AzmlField) -> str:
    text = field.does.replace("|", "\\|")
    return f"dropped with a note: {text}" if field.dropped else text


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


BLOCK = ReadmeBlock("azml-fields", render)
updated_readme = BLOCK.updated


if __name__ == "__main__":
    raise SystemExit(BLOCK.main(sys.argv[1:]))
