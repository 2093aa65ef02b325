"""One definition of "rollback" (issue 20, point 3): the rollback command's target, the `stable`
deployment mlep hands the policy pack, TRF-08's exemption and the review's classification.

Properties over histories, checked against the real policy (not a copy of its rule):
- over any history of an endpoint's traffic, the change back to `rollback_target` passes the
  step rules (TRF-06/07/08) with the previous traffic and `stable` mlep derives, whether the
  rollout stood at 5 % or 100 %;
- the review's rule and the pack's rule give the same targets for any previous traffic.
"""

from __future__ import annotations

import importlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mlep.change.review import rollback_targets as review_targets
from mlep.stack.history import Revision, rollback_target
from tests.test_policies_traffic import TRF0608, before, check, steps_args

# The pack is imported from its directory, which tests.policy_helpers puts on sys.path.
steps = importlib.import_module("mlep_policies.traffic_steps")

NAMES = ["blue", "green", "shadow"]
PROPERTIES = settings(max_examples=300, deadline=None)


@st.composite
def traffic(draw: st.DrawFn) -> dict[str, int]:
    """One revision's live traffic: one deployment at 100 %, or a split summing to 100."""
    if draw(st.booleans()):
        return {draw(st.sampled_from(NAMES)): 100}
    first, second = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True))
    share = draw(st.sampled_from([5, 25, 40, 60, 75, 95]))
    return {first: 100 - share, second: share}


def revisions(history: list[dict[str, int]]) -> list[Revision]:
    """Newest first, as git log gives them."""
    return [Revision(f"c{i}", f"revision {i}", t) for i, t in enumerate(reversed(history))]


def filled(shares: dict[str, int]) -> dict[str, int]:
    return {name: shares.get(name, 0) for name in NAMES}


@PROPERTIES
@given(st.lists(traffic(), min_size=1, max_size=8))
def test_returning_to_the_rollback_target_always_passes_the_step_rules(
    history: list[dict[str, int]],
) -> None:
    target = rollback_target(revisions(history))
    if target is None or target.full is None:
        return  # no deployment ever carried everything but the current one: nothing to return to
    base = filled(history[-1])
    back = {name: 100 if name == target.full else 0 for name in NAMES}
    args = steps_args(back, before(base, stable=target.full))
    check(TRF0608, args, [])


@PROPERTIES
@given(st.lists(traffic(), min_size=1, max_size=8))
def test_the_target_is_never_the_deployment_that_carries_everything_now(
    history: list[dict[str, int]],
) -> None:
    target = rollback_target(revisions(history))
    now = next((d for d, s in history[-1].items() if s == 100), None)
    if target is not None:
        assert target.full is not None
        assert target.full != now
        # ... and it is the newest such revision.
        newer = history[len(history) - 1 - int(target.commit[1:]) + 1 :]
        assert all(
            next((d for d, s in t.items() if s == 100), now) in (now, None) for t in newer
        ), (history, target)


@PROPERTIES
@given(
    st.dictionaries(st.sampled_from(NAMES), st.integers(0, 100), min_size=1).filter(
        lambda t: sum(t.values()) > 0
    ),
    st.one_of(st.none(), st.sampled_from(NAMES)),
)
def test_the_review_and_the_pack_share_one_rule(shares: dict[str, int], stable: Any) -> None:
    previous = steps.Previous(shares, {}, stable)
    assert review_targets(shares, stable) == steps.rollback_targets(previous)


# ---- the histories users meet ---------------------------------------------------------------


def target_of(*history: dict[str, int], deployed: set[str] | None = None) -> str | None:
    found = rollback_target(revisions(list(history)), deployed)
    return found.full if found else None


def test_during_a_rollout_the_target_is_where_it_started() -> None:
    assert target_of({"blue": 100}, {"blue": 95, "green": 5}, {"blue": 40, "green": 60}) == "blue"


def test_after_a_completed_rollout_the_target_is_the_deployment_before_it() -> None:
    assert target_of({"blue": 100}, {"blue": 40, "green": 60}, {"green": 100}) == "blue"


def test_a_squashed_rollout_is_the_same_history() -> None:
    assert target_of({"blue": 100}, {"green": 100}) == "blue"


def test_after_a_revert_the_new_attempt_starts_from_the_reverted_to_deployment() -> None:
    """blue -> green 25 -> reverted to blue -> green 5 again: back to blue."""
    history = ({"blue": 100}, {"blue": 75, "green": 25}, {"blue": 100}, {"blue": 95, "green": 5})
    assert target_of(*history) == "blue"


def test_a_new_rollout_after_a_completed_one_returns_to_its_own_start() -> None:
    """green completed, then a rollout of shadow began: back to green, not to blue."""
    history = ({"blue": 100}, {"green": 100}, {"green": 95, "shadow": 5})
    assert target_of(*history) == "green"


def test_a_deployment_removed_since_is_no_target_for_the_command() -> None:
    """blue was finished (removed): the rollback command has nowhere to go."""
    history = ({"blue": 100}, {"green": 100})
    assert target_of(*history, deployed={"green"}) is None
    assert target_of(*history, deployed={"green", "blue"}) == "blue"


def test_a_stack_that_never_moved_has_no_target() -> None:
    assert target_of({"blue": 100}, {"blue": 100}) is None


def test_the_pack_without_a_stable_deployment_falls_back_to_the_dominant_one() -> None:
    assert steps.rollback_targets(steps.Previous({"blue": 60, "green": 40}, {})) == {"blue"}
    assert review_targets({"blue": 60, "green": 40}, None) == {"blue"}
