"""Traffic steps (POLICY-RULES.md, TRF-06 to TRF-08): how far one change may move traffic,
against the previous traffic given in policy config (`previousTraffic`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from mlep_policies.define import MANDATORY, integer, settings, stack_policy
from mlep_policies.reading import EndpointTraffic, as_int, as_weight, elements, entries
from mlep_policies.routing import route_mirrors, stack_traffic
from mlep_policies.traffic_split import percent_text

STEP_TUNABLES: dict[str, dict[str, Any]] = {
    "previousTraffic": {
        "type": "object",
        "description": "The live traffic before this change, per endpoint: {ENDPOINT: "
        "{traffic: {DEPLOYMENT: percent}, mirror_traffic: {...}, stable: DEPLOYMENT?}} - the "
        "shape of the stack output `endpoints`. Absent: the step rules do not apply.",
    },
    "maxStepPercent": integer(25, 1, 100, "Largest rise of one deployment's share per change."),
    "maxCanaryPercent": integer(
        50, 1, 100, "Largest first share of a deployment that had no live traffic."
    ),
    "endpoints": {
        "type": "object",
        "description": "Per-endpoint overrides: {ENDPOINT: {maxStepPercent, maxCanaryPercent, "
        "steps}}; a rise to the next of `steps` (the endpoint's rollout schedule) is allowed "
        "even when larger than maxStepPercent.",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "maxStepPercent": {"type": "integer", "minimum": 1, "maximum": 100},
                "maxCanaryPercent": {"type": "integer", "minimum": 1, "maximum": 100},
                "steps": {"type": "array", "items": {"type": "integer"}},
            },
            "additionalProperties": False,
        },
    },
}


class Unreadable(ValueError):
    """Previous traffic that is given but cannot be read: the step rules fail closed."""


class Previous(NamedTuple):
    """One endpoint's traffic before the change; ``stable`` is the deployment a rollback
    returns to, when the caller knows it (mlep fills it from git history)."""

    traffic: dict[str, int]
    mirror: dict[str, int]
    stable: str | None = None


def previous_shares(entry: Any) -> Previous:
    """One endpoint's previous state; raises Unreadable."""
    if not isinstance(entry, Mapping):
        raise Unreadable(f"expected an object, got {entry!r}")
    values = entries(entry)
    traffic, mirror = values.get("traffic"), values.get("mirror_traffic", {})
    if not isinstance(traffic, Mapping):
        raise Unreadable(f"`traffic` must be an object of percentages, got {traffic!r}")
    if not isinstance(mirror, Mapping):
        raise Unreadable(f"`mirror_traffic` must be an object of percentages, got {mirror!r}")
    stable = values.get("stable")
    if stable is not None and not isinstance(stable, str):
        raise Unreadable(f"`stable` must be a deployment name, got {stable!r}")
    shares: list[dict[str, int]] = []
    for field, weights in (("traffic", traffic), ("mirror_traffic", mirror)):
        parsed = {}
        for key, value in entries(weights).items():
            weight = as_weight(value)
            if weight is None:
                raise Unreadable(f"{field}.{key} is {value!r}, not a whole number 0-100")
            parsed[str(key)] = weight
        shares.append(parsed)
    return Previous(shares[0], shares[1], stable)


def _steps(args: StackValidationArgs, report: ReportViolation) -> None:
    # An OnlineEndpoint created without traffic (the program's) sets none: only the
    # resources that set traffic are compared with the previous traffic.
    found = [
        s
        for s in stack_traffic(args.resources)
        if s.traffic.traffic is not None or s.traffic.mirror is not None
    ]
    if not found:
        return
    config = settings(args, STEP_TUNABLES)
    previous = config.get("previousTraffic")
    if previous is None:
        args.not_applicable(
            "no previous traffic given (a first deploy, or a plan without --base): TRF-06/07 "
            "compare against it"
        )
    # Routes: live shares rule by rule, mirror as the endpoint's total over all of them.
    mirrors = route_mirrors(found)
    for setting in found:
        traffic, urn = setting.traffic, setting.resource.urn
        before = _previous(traffic.endpoint, previous, urn, report)
        if before is None:
            continue
        limits = _Limits.of(config, traffic.endpoint)
        _check_live(traffic, before, limits, urn, report)
        if not traffic.route:
            mirror = traffic.mirror_shares()
            _check_mirror(traffic.endpoint, mirror, before, limits, at=(urn, report))
        elif traffic.endpoint in mirrors:
            total = mirrors.pop(traffic.endpoint)  # judged once per endpoint
            at = (total.urns[0], report)
            _check_mirror(traffic.endpoint, total.numbers(), before, limits, at=at)


def _previous(endpoint: str, previous: Any, urn: str, report: ReportViolation) -> Previous | None:
    """The endpoint's previous state; None when it is new (its first traffic is free) or
    unreadable (reported: the step rules fail closed)."""
    if not isinstance(previous, Mapping):
        report(
            f"endpoint {endpoint!r}: previousTraffic is given but is not an object "
            f"({previous!r}), so the step rules cannot pass (TRF-06). Fix: pass the stack "
            "output `endpoints` (pulumi stack output endpoints --json).",
            urn,
        )
        return None
    entry = entries(previous).get(endpoint)
    if entry is None:
        return None
    try:
        return previous_shares(entry)
    except Unreadable as error:
        report(
            f"endpoint {endpoint!r}: previous traffic is unreadable ({error}), so the "
            "step rules cannot pass (TRF-06). Fix: pass the stack output `endpoints` as "
            "previousTraffic.",
            urn,
        )
        return None


class _Limits(NamedTuple):
    """The step limits of one endpoint: the policy's, or the endpoint's overrides."""

    max_step: int
    max_canary: int
    schedule: list[int]

    @classmethod
    def of(cls, config: dict[str, Any], endpoint: str) -> _Limits:
        overrides = entries(entries(config.get("endpoints")).get(endpoint))
        return cls(
            as_int(overrides.get("maxStepPercent")) or config["maxStepPercent"],
            as_int(overrides.get("maxCanaryPercent")) or config["maxCanaryPercent"],
            sorted(
                {w for w in (as_int(s) for s in elements(overrides.get("steps"))) if w is not None}
            ),
        )


def rollback_targets(previous: Previous) -> set[str]:
    """Where a rollback may return live traffic (TRF-08): the `stable` deployment when the
    caller knows it from history (mlep: the last deployment to carry all live traffic before
    the rollout in progress, or before a completed one), else the deployments that had the
    largest share. mlep's review classifies a change with the same rule."""
    if previous.stable is not None:
        return {previous.stable}
    top = max(previous.traffic.values())
    return {d for d, share in previous.traffic.items() if share == top}


def _check_live(
    setting: EndpointTraffic, previous: Previous, limits: _Limits, urn: str, report: ReportViolation
) -> None:
    before, after = previous.traffic, setting.shares()
    if after is None or sum(before.values()) <= 0:
        return
    where = f"endpoint {setting.endpoint!r}"
    gains = {d: share - before.get(d, 0) for d, share in after.items()}
    rising = {d: g for d, g in gains.items() if g > 0}
    if not rising or set(rising) <= rollback_targets(previous):
        return  # TRF-08: a rollback
    for deployment, gain in sorted(rising.items()):
        was, now = before.get(deployment, 0), after[deployment]
        scheduled = now == next((s for s in limits.schedule if s > was), None)
        if gain > limits.max_step and not scheduled:
            report(
                f"{where}: {deployment!r} rises from {was}% to {percent_text(now)}%, "
                f"more than the {limits.max_step}% step allowed per change (TRF-06). Fix: "
                f"raise it to at most {was + limits.max_step}% now (mlep rollout moves one "
                "step at a time).",
                urn,
            )
        if was == 0 and (now > limits.max_canary or now >= 100):
            report(
                f"{where}: {deployment!r} goes from no traffic to {percent_text(now)}% "
                f"without a canary step of at most {limits.max_canary}% (TRF-07). Fix: start "
                "it at a canary share (e.g. 5%) and raise it in later changes.",
                urn,
            )


def _check_mirror(
    endpoint: str,
    after: dict[str, float] | None,
    previous: Previous,
    limits: _Limits,
    *,
    at: tuple[str, ReportViolation],
) -> None:
    urn, report = at
    for deployment, share in sorted((after or {}).items()):
        was = previous.mirror.get(deployment, 0)
        if share - was > limits.max_step:
            report(
                f"endpoint {endpoint!r}: mirror traffic to {deployment!r} rises from {was}% to "
                f"{percent_text(share)}%, more than {limits.max_step}% per change (TRF-06). Fix: "
                "raise it in steps; lowering it is always allowed.",
                urn,
            )


traffic_steps = stack_policy(
    "trf-06-08-traffic-steps",
    description="Against the previous traffic (policy config previousTraffic), counting every "
    "route that reaches an endpoint's Services: a deployment's "
    "share rises by at most maxStepPercent per change, or to the next step of its rollout "
    "schedule (TRF-06); a deployment without traffic starts with a canary share of at most "
    "maxCanaryPercent (TRF-07); moving share back to the stable deployment (previousTraffic's "
    "`stable`, which mlep reads from history) or the previously dominant one, and "
    "lowering mirror traffic are always allowed (TRF-08).",
    level=MANDATORY,
    severity=Severity.HIGH,
    remediation="Move traffic one rollout step per change (`mlep rollout`); to undo a step, "
    "move traffic back to the previous deployment (`mlep rollback`), which is always allowed.",
    validate=_steps,
    tunables=STEP_TUNABLES,
)
