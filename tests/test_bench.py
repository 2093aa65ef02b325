"""bench/: the fleet stacks are valid specs, and the report flags every missed target.
(The benchmark itself runs with bin/bench, not in the tests.)"""

from __future__ import annotations

import pytest

from bench.fleet import FLEETS
from bench.run import Row, report
from models.loader import parse_stack_config


@pytest.mark.parametrize("target", sorted(FLEETS))
def test_fleet_stacks_are_valid_with_every_feature_on(target: str) -> None:
    stack = parse_stack_config(FLEETS[target](3), f"fleet-{target}")
    assert [e.name for e in stack.endpoints] == ["fleet-0000", "fleet-0001", "fleet-0002"]
    for endpoint in stack.endpoints:
        assert endpoint.auth_mode == "key"
        assert endpoint.alerts is not None
        assert len(endpoint.deployments) == 2
        assert all(d.autoscale is not None for d in endpoint.deployments)
    if target == "azure":
        azure = stack.azure
        assert azure is not None
        assert azure.private_access
        assert azure.key_vault
        assert azure.log_analytics_workspace_id
        assert azure.roles.traffic_operators
        assert azure.roles.key_readers


def row(target: str, endpoints: int, plan_s: float, peak: float, floor_s: float) -> Row:
    return Row(target, endpoints, endpoints * 20, plan_s, peak, 1.0, floor_s, 500.0, floor_s / 2)


def test_report_passes_a_fleet_within_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row("azure", 100, 10.0, 300, 9.0), row("azure", 500, 50.0, 900, 45.0)]
    assert report(rows) == []
    assert "x5.00" in capsys.readouterr().out


def test_report_names_each_missed_target() -> None:
    rows = [row("kubernetes", 100, 10.0, 300, 9.0), row("kubernetes", 500, 70.0, 1100, 45.0)]
    assert report(rows) == [
        "kubernetes: growth x7.00 > 5.5",
        "kubernetes at 500: plan 70.0 s >= 60 s",
        "kubernetes at 500: peak 1100 MiB >= 1024 MiB",
        "kubernetes at 500: x1.56 floor > 1.2",
    ]
