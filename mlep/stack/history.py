"""The traffic of a stack's endpoints through the git history of its stack file.

A rollback returns to the last state in which one deployment carried all live traffic (the
*stable* deployment). Git already records every step a rollout took, because each step is its
own reviewed change of the stack file, so the history is read from git rather than kept
anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
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


def stable_deployments(stack: StackRef, start: str) -> dict[str, str]:
    """Per endpoint, the deployment that carried all its traffic at the newest revision at
    or before ``start`` where one did: what a rollback returns to."""
    stable: dict[str, str] = {}
    seen: set[str] = set()
    for commit, subject, endpoints in _revisions(stack, start):
        for endpoint, traffic in endpoints.items():
            seen.add(endpoint)
            full = Revision(commit, subject, traffic).full
            if full is not None:
                stable.setdefault(endpoint, full)
        if seen and seen <= set(stable):
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
