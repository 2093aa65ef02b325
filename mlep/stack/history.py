"""The traffic of a stack's endpoints through the git history of its stack file.

A rollback returns to the last state in which one deployment carried all live traffic (the
*stable* deployment). Git already records every step a rollout took, because each step is its
own reviewed change of the stack file, so the history is read from git rather than kept
anywhere else.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mlep.errors import UsageError
from mlep.stack import git
from mlep.stack.ref import StackRef

# Rollouts take a handful of commits; an endpoint stable 200 stack-file commits ago is not a
# rollback target anyone should reach for without naming it (--to).
MAX_REVISIONS = 200


@dataclass(frozen=True)
class Revision:
    """One committed version of an endpoint's live traffic."""

    commit: str
    subject: str
    traffic: dict[str, int]

    @property
    def full(self) -> str | None:
        """The deployment carrying all live traffic at this revision, if one did."""
        carrying = [d for d, share in self.traffic.items() if share == 100]
        return carrying[0] if carrying else None


def traffic_history(stack: StackRef, endpoint: str, start: str = "HEAD") -> Iterator[Revision]:
    """The endpoint's traffic at each commit of the stack file reachable from ``start``,
    newest first. Revisions where the endpoint is absent or its traffic unreadable are
    skipped (they may predate the endpoint, or fail today's validation)."""
    for commit, subject, endpoints in _revisions(stack, start):
        if endpoint in endpoints:
            yield Revision(commit, subject, endpoints[endpoint])


def rollback_target(
    history: Iterable[Revision], deployed: Container[str] | None = None
) -> Revision | None:
    """The revision a rollback returns to, from an endpoint's history (newest first, the
    first being the state now): the newest revision in which one deployment carried all live
    traffic, where that deployment is not the one carrying everything now. During a rollout
    that is the deployment it started from; after a completed rollout (green at 100 %), the
    one before it (blue), as long as it is still ``deployed`` (when given). Reverts, squashed
    or amended commits and partial rollbacks are only revisions: what counts is which
    deployment carried everything, and when.

    This is the one definition of "rollback" mlep uses: the rollback command's target, the
    `stable` it gives the policy pack (TRF-08's exemption) and the review's classification."""
    current: str | None = None
    for index, revision in enumerate(history):
        if index == 0:
            current = revision.full
        full = revision.full
        if full is not None and full != current and (deployed is None or full in deployed):
            return revision
    return None


def stable_deployments(stack: StackRef, start: str) -> dict[str, str]:
    """Per endpoint, the deployment a rollback at ``start`` returns to (`rollback_target`).
    Reads the history back only until every endpoint seen has its answer."""
    histories: dict[str, list[Revision]] = {}
    stable: dict[str, str] = {}
    for commit, subject, endpoints in _revisions(stack, start):
        for endpoint, traffic in endpoints.items():
            if endpoint in stable:
                continue
            history = histories.setdefault(endpoint, [])
            history.append(Revision(commit, subject, traffic))
            target = rollback_target(history)
            if target is not None and target.full is not None:
                stable[endpoint] = target.full
        if histories and set(histories) <= set(stable):
            break
    return stable


def _revisions(stack: StackRef, start: str) -> Iterator[tuple[str, str, dict[str, dict[str, int]]]]:
    """(commit, subject, endpoint -> traffic) for each commit of the stack file, newest first."""
    path = stack.repository_path()
    if path is None or not git.is_commit(stack.project_dir, start):
        return
    log = git.text(
        stack.project_dir,
        "log",
        f"--max-count={MAX_REVISIONS}",
        "--format=%H%x09%s",
        "--end-of-options",
        git.resolve(stack.project_dir, start),
        "--",
        stack.file_name,
    )
    for line in (log or "").splitlines():
        commit, _, subject = line.partition("\t")
        try:
            shown = git.show(stack.project_dir, commit, path).decode("utf-8")
        except (git.GitFailed, UnicodeDecodeError):
            continue  # unreadable history is history that is not there
        yield commit, subject, _traffic_by_endpoint(stack, shown)


def _traffic_by_endpoint(stack: StackRef, text: str) -> dict[str, dict[str, int]]:
    try:
        namespace = stack.parse(text).namespace
    except UsageError:
        return {}
    found: dict[str, dict[str, int]] = {}
    for item in _as_list(namespace.get("endpoints")):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        traffic = item.get("traffic") or {}
        if isinstance(traffic, dict) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in traffic.values()
        ):
            found[item["name"]] = {str(k): int(v) for k, v in traffic.items()}
    return found


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []
