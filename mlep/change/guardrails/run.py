"""Running the guardrails for `mlep rollout`: pick the stack's metrics source, read, report."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from mlep.change.guardrails import SIGNALS, Decision, MetricsSource, MetricsUnavailable, decide
from mlep.errors import SourceUnavailable, UsageError
from mlep.stack.files import StackFile
from models.endpoint import EndpointSpec
from models.stack import KubernetesStackConfig, StackConfig

STATUS_STYLE = {"pass": "green", "breach": "bold red", "no data": "yellow"}


@dataclass(frozen=True)
class GuardrailOptions:
    """Where the guardrails read live metrics, or that they are skipped (an override)."""

    prometheus_url: str | None = None
    subscription: str | None = None
    skip: bool = False


def metrics_source(
    args: GuardrailOptions, config: StackConfig, stack_file: StackFile
) -> MetricsSource:
    """Prometheus for a Kubernetes stack, Azure Monitor for an Azure one."""
    if isinstance(config, KubernetesStackConfig):
        from mlep.change.guardrails.prometheus import PrometheusSource  # noqa: PLC0415

        if not args.prometheus_url:
            raise UsageError(
                "the guardrails read the deployment's live metrics from Prometheus, and no "
                "Prometheus is given; fix: pass --prometheus-url URL (or set "
                "MLEP_PROMETHEUS_URL), e.g. kubectl -n monitoring port-forward "
                "svc/prometheus-operated 9090 and --prometheus-url http://127.0.0.1:9090"
            )
        return PrometheusSource(args.prometheus_url, namespace=config.kubernetes.namespace)
    from mlep.change.guardrails.azure import AzureMonitorSource, subscription_id  # noqa: PLC0415

    azure = config.azure
    subscription = args.subscription or subscription_id(stack_file.engine_config)
    if not subscription:
        raise UsageError(
            "the guardrails read the deployment's live metrics from Azure Monitor, which needs "
            "the workspace's subscription; fix: pass --subscription ID, set "
            "`azure-native:subscriptionId` in the stack file, or export AZURE_SUBSCRIPTION_ID"
        )
    return AzureMonitorSource(
        subscription,
        azure.resource_group,
        azure.workspace,
        azure.log_analytics_workspace_id,
    )


SKIPPING = (
    "Or, having checked the deployment by other means, rerun with --skip-guardrails: the step "
    "then goes ahead without comparing its live metrics with the endpoint's alert thresholds "
    "(the command says so in its output)."
)


def check(source: MetricsSource, spec: EndpointSpec, deployment: str, minutes: int) -> Decision:
    """The guardrail decision, or SourceUnavailable (exit 4) when the source cannot be read."""
    try:
        return decide(source.read(spec, deployment, minutes))
    except MetricsUnavailable as error:
        raise SourceUnavailable(
            f"guardrails: cannot read the live metrics of {spec.name}/{deployment} from "
            f"{source.describe()}: {error}. Nothing was changed. {SKIPPING}"
        ) from None


def print_decision(
    decision: Decision, source: MetricsSource, spec: EndpointSpec, deployment: str, out: Console
) -> None:
    window = f"last {spec.rollout.bake_minutes} min"
    table = Table(
        title=f"guardrails: {spec.name}/{deployment} ({source.describe()})",
        title_justify="left",
    )
    for column in ("signal", "threshold", "observed", "window", "verdict"):
        table.add_column(column)
    for reading in decision.readings:
        title, unit, side = SIGNALS[reading.key]
        value = "no data" if reading.value is None else f"{reading.value:.3g} {unit}"
        limit = f"{'<=' if side == 'above' else '>='} {reading.threshold:g} {unit}"
        verdict = f"[{STATUS_STYLE[reading.status]}]{reading.status}[/]"
        table.add_row(title, limit, value, window, verdict)
    out.print(table)
    out.print(f"verdict: {decision.verdict}", markup=False)


__all__ = ["check", "metrics_source", "print_decision"]
