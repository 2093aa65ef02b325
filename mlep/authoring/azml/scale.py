"""scale_settings -> autoscale: target_utilization becomes Azure Monitor autoscale on CPU."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from mlep.authoring.azml.fields import SCALE_FIELDS, check_fields, snake
from mlep.authoring.azml.files import AzmlFile, plain
from mlep.authoring.azml.spec import Spec
from models.errors import MISSING

# az ml's target_utilization field -> the spec's autoscale field
_RENAMED = (
    ("min_instances", "min_instances"),
    ("max_instances", "max_instances"),
    ("target_utilization_percentage", "target_cpu_percent"),
)


def convert_scale(spec: Spec) -> None:
    """scale_settings -> autoscale: target_utilization scales on CPU between min and max."""
    file, scale = spec.file, spec.file.data.get("scale_settings")
    if scale is None or not _scales_on_utilization(file, scale):
        return
    autoscale = _autoscale(spec, scale)
    if scale.get("polling_interval") is not None:
        file.note(
            ("scale_settings", "polling_interval"),
            "polling_interval dropped: Azure Monitor autoscale evaluates CPU every minute; "
            "autoscale.cooldown_minutes (default 5) sets the wait between scale actions",
        )
    file.note(
        ("scale_settings",),
        "scale_settings (target_utilization) became autoscale on CPU (Azure Monitor "
        "autoscale); target_utilization_percentage is target_cpu_percent (az ml itself takes "
        "target_utilization on Kubernetes deployments only; managed ones scale this way)",
    )
    spec.values["autoscale"] = autoscale


def _scales_on_utilization(file: AzmlFile, scale: Any) -> bool:
    """True for type target_utilization; type default is a fixed count (no autoscale), and
    anything else a problem."""
    if not isinstance(scale, CommentedMap):
        file.problem(
            ("scale_settings",),
            "scale_settings must be a mapping",
            "write `type: default`, or `type: target_utilization` with min_instances and "
            "max_instances",
            scale,
        )
        return False
    check_fields(file, ("scale_settings",), scale, SCALE_FIELDS, "scale_settings")
    kind = snake(scale.get("type"))
    if kind == "default":
        for key in scale:
            if key != "type":
                file.problem(
                    ("scale_settings", key),
                    f"{key} only applies to scale_settings of type target_utilization",
                    "remove it, or set type: target_utilization",
                    scale[key],
                )
        return False
    if kind != "target_utilization":
        file.problem(
            ("scale_settings", "type"),
            "scale_settings.type must be default or target_utilization",
            "use type: default (a fixed instance_count) or type: target_utilization",
            scale.get("type", MISSING),
        )
        return False
    return True


def _autoscale(spec: Spec, scale: CommentedMap) -> dict[str, Any]:
    """The autoscale fields, each recorded as coming from its scale_settings field."""
    file = spec.file
    autoscale: dict[str, Any] = {}
    spec.record("autoscale", None, ("scale_settings",))
    for source, target in _RENAMED:
        if scale.get(source) is not None:
            autoscale[target] = plain(scale[source])
            spec.record(f"autoscale.{target}", None, ("scale_settings", source))
    for key in ("min_instances", "max_instances"):
        if key not in autoscale:
            autoscale[key] = 1
            file.note(("scale_settings",), f"scale_settings.{key} not set: 1, as in az ml")
    percent = autoscale.get("target_cpu_percent")
    if isinstance(percent, int) and percent <= 30:
        # Our scale-in threshold (default 30) must stay below the scale-out one.
        autoscale["scale_in_cpu_percent"] = max(1, percent // 2)
        spec.record("autoscale.scale_in_cpu_percent", None, ("scale_settings",))
        file.note(
            ("scale_settings", "target_utilization_percentage"),
            f"autoscale.scale_in_cpu_percent set to {autoscale['scale_in_cpu_percent']}: it "
            "must stay below target_cpu_percent (the default, 30, does not)",
        )
    return autoscale
