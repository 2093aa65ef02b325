"""The endpoint spec being built, and its validation by the stack loader with every problem
traced back to the az ml file and line its value came from."""

from __future__ import annotations

from typing import Any

from mlep.authoring.azml.files import AzmlFile, Findings, Loc, plain
from models.errors import ConfigError
from models.loader import parse_stack_config

# spec path ("deployments[1].autoscale.min_instances") -> the file and az ml field it came from
Origins = dict[str, tuple[AzmlFile, Loc]]


class Spec:
    """A spec being built, remembering the file and field each value came from, so that a
    validation problem found later points at the az ml file and line."""

    def __init__(self, file: AzmlFile, prefix: str, origins: Origins) -> None:
        self.file = file
        self.values: dict[str, Any] = {}
        self._prefix = prefix
        self._origins = origins
        if prefix:  # a deployment: a problem about a field it lacks points at its file
            origins[prefix.rstrip(".")] = (file, ())

    def carry(self, key: str, value: Any) -> None:
        """Take a field over as it is (field names follow the az ml YAML)."""
        self.values[key] = plain(value)
        self.record(key, value, (key,))

    def record(self, path: str, value: Any, source: Loc) -> None:
        """``path`` of the spec (and every key below it in ``value``) came from ``source``."""
        self._origins[self._prefix + path] = (self.file, source)
        if isinstance(value, dict):
            for key, item in value.items():
                self.record(f"{path}.{key}", item, (*source, key))

    def ordered(self, order: tuple[str, ...]) -> dict[str, Any]:
        return {key: self.values[key] for key in order if key in self.values}


def validate(spec: dict[str, Any], endpoint: AzmlFile, origins: Origins, found: Findings) -> None:
    """Load the spec the way `mlep plan` does, inside the smallest azure stack around it."""
    stack = {
        "target": "azure",
        "environment": "dev",
        "tags": {"owner": "import", "application": "import", "data-sensitivity": "internal"},
        # A key vault, so that auth_mode: key is judged on the endpoint alone.
        "azure": {
            "resource_group": "rg-import",
            "workspace": "mlw-import",
            "key_vault": {"name": "kv-import"},
        },
        "endpoints": [spec],
    }
    try:
        parse_stack_config(stack, str(endpoint.path))
    except ConfigError as error:
        for problem in error.problems:
            path = problem.path.removeprefix("endpoints[0]").lstrip(".")
            file, source, rest = _origin(path, origins, endpoint)
            field = ".".join(str(part) for part in (*source, *rest)).replace(".[", "[")
            file.problem(source, problem.message, problem.fix, problem.value, field)
        found.raise_if_any()


def _origin(path: str, origins: Origins, endpoint: AzmlFile) -> tuple[AzmlFile, Loc, list[str]]:
    """The file and field a spec path came from (its nearest recorded parent), and the rest."""
    rest: list[str] = []
    while path and path not in origins:
        head, _, tail = path.rpartition(".")
        if "[" in tail:  # deployments[1] -> deployments, [1]
            cut = path.rindex("[")
            head, tail = path[:cut], path[cut:]
        rest.insert(0, tail)
        path = head
    file, source = origins.get(path, (endpoint, ()))
    return file, source, rest
