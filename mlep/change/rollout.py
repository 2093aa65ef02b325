"""`mlep rollout` and `mlep rollback`: one traffic step as one change of the stack file.

A rollout moves a deployment to the next value of its endpoint's ``rollout.steps`` that is
above its current share, taking the difference from the other live deployments in proportion
to their shares. A rollback returns all live traffic to the stable deployment: the one that
carried all of it at the newest committed revision of the stack file where one did (or the
deployment named with ``--to``).

Both validate the edited file with the same models as `mlep plan` before writing it, so a
step never leaves a stack file that does not plan.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from mlep.errors import UsageError
from mlep.stack.edit import append_deployment, remove_deployment
from mlep.stack.history import Revision, rollback_target, traffic_history
from mlep.stack.ref import StackRef, validated
from mlep.stack.traffic_edit import Shares, set_traffic
from models.endpoint import EndpointSpec
from models.loader import NAMESPACE
from models.stack import StackConfig


@dataclass(frozen=True)
class Change:
    """The stack file before and after one traffic change of one endpoint."""

    stack: StackRef
    endpoint: str
    before: str
    after: str
    summary: str  # one line, e.g. "green 25% -> 60%"
    notes: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return self.stack.path

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.path.name}",
                f"b/{self.path.name}",
            )
        )

    def write(self, *, allow_dirty: bool = False) -> None:
        """Write the change: atomically, only over the text it was made from, and (unless
        ``allow_dirty``) only to a committed file (mlep/stack/writing.py)."""
        self.stack.write(self.before, self.after, allow_dirty=allow_dirty)


def find_endpoint(config: StackConfig, name: str) -> EndpointSpec:
    for spec in config.endpoints:
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in config.endpoints) or "none"
    raise UsageError(f"--endpoint {name}: no such endpoint in the stack (endpoints: {known})")


def deployment_of(spec: EndpointSpec, name: str, flag: str) -> str:
    names = [d.name for d in spec.deployments]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise UsageError(
            f"{flag} {name}: endpoint {spec.name!r} has no such deployment "
            f"(deployments: {', '.join(names)}){hint}"
        )
    return name


def live_shares(spec: EndpointSpec) -> Shares:
    """Every deployment's live share, zero where the traffic map does not name it."""
    return {d.name: spec.traffic.get(d.name, 0) for d in spec.deployments}


def next_step(spec: EndpointSpec, target: str) -> tuple[Shares, int]:
    """The traffic after moving ``target`` to its next step, and that step."""
    current = live_shares(spec)
    if sum(current.values()) == 0:
        raise UsageError(
            f"endpoint {spec.name!r} has no live traffic, so there is nothing to move to "
            f"{target!r}; fix: give its first deployment all traffic in the stack file "
            f"(traffic: {{{target}: 100}}) and deploy that first"
        )
    share = current[target]
    step = next(s for s in spec.rollout.steps if s > share)  # steps end at 100
    others = {d: s for d, s in current.items() if d != target}
    after = dict(spec.traffic)
    after.update(_scale(others, 100 - step))
    after[target] = step
    return after, step


def rollback_shares(spec: EndpointSpec, stable: str) -> Shares:
    """All live traffic on ``stable``; every other deployment named in traffic at 0."""
    after = {d: 0 for d in spec.traffic}
    after[stable] = 100
    return after


def rollout_change(stack: StackRef, config: StackConfig, endpoint: str, target: str) -> Change:
    spec = find_endpoint(config, endpoint)
    if target not in {d.name for d in spec.deployments}:
        flag, field = (
            ("--image", "image") if config.target == "kubernetes" else ("--model", "model")
        )
        names = [d.name for d in spec.deployments]
        close = difflib.get_close_matches(target, names, n=1)
        hint = f"did you mean {close[0]!r}? Or, " if close else ""
        raise UsageError(
            f"--to {target}: endpoint {endpoint!r} has no such deployment (deployments: "
            f"{', '.join(names)}); {hint}to start a rollout of a new one, give its {field}: "
            f"{flag} ..."
        )
    before_share = live_shares(spec)[target]
    if before_share == 100:
        text = stack.text()
        return Change(
            stack,
            endpoint,
            text,
            text,
            f"{target} already carries all live traffic of {endpoint}: the rollout is complete",
        )
    traffic, step = next_step(spec, target)
    notes = []
    mirror = dict(spec.mirror_traffic)
    if target in mirror:
        # A deployment cannot take live and mirrored traffic at once: it leaves the shadow.
        notes.append(f"{target} stops receiving mirrored traffic ({mirror.pop(target)}%)")
    return _change(
        stack,
        spec,
        traffic=traffic,
        mirror=mirror,
        summary=f"{target} {before_share}% -> {step}%",
        notes=tuple(notes),
    )


def rollback_change(
    stack: StackRef, config: StackConfig, endpoint: str, to: str | None
) -> tuple[Change, Revision | None]:
    spec = find_endpoint(config, endpoint)
    revision = None
    if to is None:
        shares = live_shares(spec)
        # The state now first (it may not be committed yet), then the committed history.
        now = Revision("working tree", "the stack file now", shares)
        revision = rollback_target([now, *traffic_history(stack, endpoint)], deployed=shares)
        if revision is None or revision.full is None:
            raise UsageError(
                f"no committed revision of {stack.file_name} gives one deployment of "
                f"{endpoint!r} all live traffic, so the stable deployment is unknown; fix: "
                "name the deployment to return to with --to DEPLOYMENT"
            )
        to = revision.full
    deployment_of(spec, to, "--to")
    mirror = dict(spec.mirror_traffic)
    notes = []
    if to in mirror:
        notes.append(f"{to} stops receiving mirrored traffic ({mirror.pop(to)}%)")
    change = _change(
        stack,
        spec,
        traffic=rollback_shares(spec, to),
        mirror=mirror,
        summary=f"all live traffic of {endpoint} back to {to}",
        notes=tuple(notes),
    )
    return change, revision


@dataclass(frozen=True)
class NewDeployment:
    """What `mlep rollout --to NEW` is given to start a rollout: the new model (Azure) or
    image (Kubernetes), and an optional shadow share."""

    model: str | None = None
    image: str | None = None
    mirror: int | None = None


def start_change(
    stack: StackRef, config: StackConfig, endpoint: str, name: str, new: NewDeployment
) -> Change:
    """Add deployment ``name`` as a copy of the endpoint's stable deployment (the one with the
    largest live share) with the new model or image, at 0 % live (or mirrored ``new.mirror``
    percent): lines inserted into the stack file, nothing else rewritten."""
    spec = find_endpoint(config, endpoint)
    kubernetes = config.target == "kubernetes"
    flag, field, value, other = (
        ("--image", "image", new.image, new.model)
        if kubernetes
        else ("--model", "model", new.model, new.image)
    )
    if other is not None:
        wrong = "--model" if kubernetes else "--image"
        raise UsageError(f"{wrong} is not for a {config.target} stack; fix: give {flag}")
    if not value:
        raise UsageError(
            f"--to {name}: endpoint {endpoint!r} has no such deployment; to start a rollout of "
            f"a new one, give its {field}: {flag} ..."
        )
    shares = live_shares(spec)
    if sum(shares.values()) == 0:
        raise UsageError(
            f"endpoint {endpoint!r} has no live traffic, so no deployment is stable to copy; "
            "fix: give one deployment all traffic first"
        )
    source = max(shares, key=lambda d: shares[d])
    before = stack.text()
    raw = _raw_deployment(before, endpoint, source)
    copied = {**raw, "name": name, field: value}
    after = append_deployment(before, endpoint, copied)
    notes = [f"{name} is a copy of {source} with {field} {value}, at 0% live traffic"]
    if new.mirror:
        after = set_traffic(after, endpoint, "mirror_traffic", {name: new.mirror})
        notes.append(f"{name} receives {new.mirror}% of the requests mirrored (a shadow)")
    validated(stack.parse(after), f"{stack.file_name} (edited)")
    return Change(
        stack, endpoint, before, after, f"deployment {name} added beside {source}", tuple(notes)
    )


def finish_change(stack: StackRef, config: StackConfig, endpoint: str) -> Change:
    """Remove the deployments a completed rollout left behind: one deployment carries all live
    traffic; every other one, at 0 % and not mirrored, goes (with its traffic key)."""
    spec = find_endpoint(config, endpoint)
    shares = live_shares(spec)
    carrying = [d for d, share in shares.items() if share == 100]
    if not carrying:
        raise UsageError(
            f"endpoint {endpoint!r}: the rollout is not complete (no deployment carries all live "
            f"traffic: {_shares_summary(shares)}); fix: finish it (mlep rollout --to ...) or roll "
            "back first"
        )
    idle = [d for d in shares if shares[d] == 0 and d not in spec.mirror_traffic]
    before = stack.text()
    if not idle:
        return Change(
            stack, endpoint, before, before, f"{carrying[0]} is {endpoint}'s only deployment"
        )
    after = before
    for name in idle:
        after = remove_deployment(after, endpoint, name)
    traffic = {d: s for d, s in spec.traffic.items() if d not in idle}
    if traffic != dict(spec.traffic):
        after = set_traffic(after, endpoint, "traffic", traffic)
    validated(stack.parse(after), f"{stack.file_name} (edited)")
    return Change(
        stack,
        endpoint,
        before,
        after,
        f"deployment{'s' if len(idle) > 1 else ''} {', '.join(idle)} removed; {carrying[0]} "
        "carries all live traffic",
    )


def _raw_deployment(text: str, endpoint: str, name: str) -> dict[str, Any]:
    """The deployment as written in the stack file (a `secure:` value stays its ciphertext:
    the copy is in the same stack, so the same key decrypts it)."""
    document = YAML(typ="safe", pure=True).load(text)
    config = document["config"]
    endpoints = config.get(f"{NAMESPACE}:endpoints", config.get("endpoints"))
    item = next(e for e in endpoints if isinstance(e, dict) and e.get("name") == endpoint)
    found = next(d for d in item["deployments"] if isinstance(d, dict) and d.get("name") == name)
    return dict(found)


def parse_shares(text: str, flag: str, spec: EndpointSpec) -> Shares:
    """``blue=90,green=10`` (or space-separated, as `az ml online-endpoint update --traffic`
    takes it) as shares of ``spec``'s deployments; UsageError naming the flag and the fix."""
    shares: Shares = {}
    for item in text.replace(",", " ").split():
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise UsageError(
                f"{flag} {text!r}: {item!r} is not DEPLOYMENT=PERCENT; fix: e.g. "
                f"{flag} blue=90,green=10"
            )
        deployment_of(spec, name.strip(), flag)
        if name.strip() in shares:
            raise UsageError(f"{flag} {text!r}: {name.strip()!r} is given twice")
        percent = int(value)
        if percent > 100:
            raise UsageError(f"{flag} {text!r}: {name.strip()}={percent} is over 100 percent")
        shares[name.strip()] = percent
    return shares


def split_change(
    stack: StackRef, config: StackConfig, endpoint: str, live: str | None, mirror: str | None
) -> Change:
    """Traffic (and mirror traffic) set explicitly, as `az ml online-endpoint update --traffic
    / --mirror-traffic` do: the given shares, 0 for every other deployment named before."""
    spec = find_endpoint(config, endpoint)
    if live is None and mirror is None:
        raise UsageError("mlep traffic: nothing to set; fix: pass --set and/or --mirror")
    traffic = dict(spec.traffic)
    summary = []
    if live is not None:
        given = parse_shares(live, "--set", spec)
        if sum(given.values()) != 100:
            raise UsageError(
                f"--set {live!r}: the shares sum to {sum(given.values())}; live traffic sums "
                "to 100 (fix: e.g. --set blue=90,green=10)"
            )
        traffic = {**dict.fromkeys(spec.traffic, 0), **given}
        summary.append("traffic " + _shares_summary(given))
    shares = dict(spec.mirror_traffic)
    if mirror is not None:
        given = (
            {} if mirror.strip().lower() in ("", "none") else parse_shares(mirror, "--mirror", spec)
        )
        shares = {d: s for d, s in given.items() if s > 0}
        summary.append("mirror " + (_shares_summary(given) if given else "none"))
    return _change(
        stack, spec, traffic=traffic, mirror=shares, summary=", ".join(summary), notes=()
    )


def _shares_summary(shares: Shares) -> str:
    return ", ".join(f"{d} {s}%" for d, s in shares.items())


def _change(
    stack: StackRef,
    spec: EndpointSpec,
    *,
    traffic: Shares,
    mirror: Shares,
    summary: str,
    notes: tuple[str, ...],
) -> Change:
    before = stack.text()
    after = set_traffic(before, spec.name, "traffic", traffic)
    if mirror != dict(spec.mirror_traffic):
        after = set_traffic(after, spec.name, "mirror_traffic", mirror)
    # The edited file must pass the same validation as `mlep plan`.
    validated(stack.parse(after), f"{stack.file_name} (edited)")
    return Change(stack, spec.name, before, after, summary, notes)


def _scale(shares: Shares, total: int) -> Shares:
    """``shares`` scaled to sum to ``total``, whole numbers by largest remainder."""
    current = sum(shares.values())
    if current == 0:
        return dict.fromkeys(shares, 0)
    exact = {d: s * total / current for d, s in shares.items()}
    scaled = {d: int(v) for d, v in exact.items()}
    short = total - sum(scaled.values())
    for d in sorted(exact, key=lambda d: (scaled[d] - exact[d], list(shares).index(d)))[:short]:
        scaled[d] += 1
    return scaled


__all__ = [
    "Change",
    "find_endpoint",
    "finish_change",
    "next_step",
    "parse_shares",
    "rollback_change",
    "rollout_change",
    "split_change",
    "start_change",
]
