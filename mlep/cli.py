"""The mlep command line.

Exit codes: 0 ok, 1 a mandatory policy violation, 2 invalid config or usage, 3 a bug in mlep.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from rich.console import Console

from mlep.adding import add_endpoint, interactive, template_values
from mlep.apply import pulumi_up, require_cli
from mlep.azml_import import convert
from mlep.guardrails import Decision
from mlep.guardrails_run import check, metrics_source, print_decision
from mlep.manifests import write_manifests
from mlep.mock_runtime import ProgramError, one_shot_process
from mlep.plan import Plan, StackConfigError, load_config, load_previous, plan_stack
from mlep.policy_config import stack_policy_config
from mlep.render import print_plan
from mlep.review import review_stack, to_markdown
from mlep.rollout import Change, find_endpoint, rollback_change, rollout_change
from mlep.stackedit import render_endpoint
from mlep.stackfile import UsageError
from mlep.templates import list_templates, load_template, stamp, template_inputs
from models.errors import ConfigError
from models.stack import StackConfig

EXIT_OK, EXIT_POLICY, EXIT_INVALID, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        # prog is `mlep` for the top-level parser and `mlep plan` for a command.
        sys.stderr.write(f"mlep: error: {message}\nfix: run `{self.prog} --help`\n")
        raise SystemExit(EXIT_INVALID)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mlep", description="Plan, review and roll out ML inference endpoints.")
    parser.add_argument(
        "-C",
        "--project-dir",
        type=Path,
        default=Path.cwd(),
        help="the Pulumi project (default: current directory)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    plan = commands.add_parser("plan", help="run the program offline and print the plan")
    plan.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    plan.add_argument("--json", action="store_true", help="print the plan document instead")
    plan.add_argument("--out", type=Path, help="write the rendered artefacts to this directory")
    _policy_arguments(plan)

    review = commands.add_parser(
        "review", help="the traffic review of a change, for a pull-request comment"
    )
    review.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    review.add_argument(
        "--base", required=True, metavar="GITREF", help="the revision to compare with"
    )
    review.add_argument("--format", choices=("markdown", "json"), default="markdown")
    review.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help="policy config merged over policies/config/<env>.json (levels, `all`, tunables)",
    )

    rollout = commands.add_parser(
        "rollout", help="move a deployment to the next step of its endpoint's rollout.steps"
    )
    _traffic_arguments(rollout)
    rollout.add_argument("--to", required=True, metavar="DEPLOYMENT", help="the new deployment")
    rollout.add_argument(
        "--prometheus-url",
        default=os.environ.get("MLEP_PROMETHEUS_URL"),
        metavar="URL",
        help="kubernetes: the Prometheus the guardrails query (default: $MLEP_PROMETHEUS_URL)",
    )
    rollout.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the subscription of the workspace, for Azure Monitor (default: the "
        "stack's azure-native:subscriptionId, else $AZURE_SUBSCRIPTION_ID)",
    )
    rollout.add_argument(
        "--skip-guardrails",
        action="store_true",
        help="advance without checking live metrics (an incident override; says so loudly)",
    )

    rollback = commands.add_parser(
        "rollback", help="return all live traffic to the last deployment that carried it"
    )
    _traffic_arguments(rollback)
    rollback.add_argument(
        "--to",
        metavar="DEPLOYMENT",
        help="the deployment to return to (default: the last one to carry all traffic, "
        "from the stack file's git history)",
    )

    new = commands.add_parser(
        "new",
        help="add an endpoint to a stack from a template in templates/endpoints",
        description="Template options (--owner, --application, --data-sensitivity and each "
        "template's own, e.g. --model or --image) follow the template; missing ones are asked "
        "for on a terminal. `mlep new --list` shows the templates and their options.",
    )
    new.add_argument("endpoint", nargs="?", metavar="ENDPOINT", help="the new endpoint's name")
    new.add_argument("--stack", help="stack name: adds to Pulumi.NAME.yaml")
    new.add_argument("--template", help="a template name (see --list)")
    new.add_argument("--list", action="store_true", help="list the templates and their options")

    azml = commands.add_parser(
        "import", help="convert az ml online endpoint and deployment YAML files to a spec"
    )
    azml.add_argument("endpoint_file", type=Path, metavar="ENDPOINT.yml")
    azml.add_argument("deployment_files", type=Path, nargs="+", metavar="DEPLOYMENT.yml")
    azml.add_argument(
        "--stack", help="add the endpoint to Pulumi.NAME.yaml (default: print the spec)"
    )

    config = commands.add_parser(
        "policy-config",
        help="print the policy config `mlep plan` uses, for pulumi preview --policy-pack-config",
    )
    config.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    _policy_arguments(config)
    return parser


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="GITREF|FILE",
        help="the traffic before this change, for the step rules: a git revision of the stack "
        "file, a plan document (mlep plan --json) or `pulumi stack output endpoints --json`",
    )
    parser.add_argument(
        "--policy-config",
        type=Path,
        metavar="FILE",
        help="policy config merged over policies/config/<env>.json (levels, `all`, tunables)",
    )


def _traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="stack name: reads Pulumi.NAME.yaml")
    parser.add_argument("--endpoint", required=True, help="the endpoint whose traffic moves")
    parser.add_argument(
        "--apply",
        action="store_true",
        help="also run `pulumi up` (Automation API; needs the Pulumi CLI and credentials)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "new":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.template_options = extra
    out = Console(soft_wrap=False, highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return COMMANDS[args.command](args, out, err)
    except ConfigError as error:
        # Line numbers of the file the error is about: the working tree or the --base revision.
        lines = error.lines if isinstance(error, StackConfigError) else None
        err.print(error.render(lines), markup=False)
        return EXIT_INVALID
    except (UsageError, ProgramError) as error:
        err.print(f"mlep: error: {error}", markup=False)
        return EXIT_INVALID
    except Exception as error:  # a bug in mlep, not bad input: say so plainly
        err.print(
            f"mlep: internal error ({type(error).__name__}: {error}); please report it "
            "(set MLEP_DEBUG=1 to see the traceback).",
            markup=False,
        )
        if os.environ.get("MLEP_DEBUG"):
            raise
        return EXIT_INTERNAL


def _plan(args: argparse.Namespace, out: Console, err: Console) -> int:
    project_dir = args.project_dir.resolve()
    quiet = args.json or not err.is_terminal
    with (
        err.status("Planning (offline, mock runtime) ...", spinner="dots")
        if not quiet
        else nullcontext()
    ):
        plan = plan_stack(project_dir, args.stack, base=args.base, policy_config=args.policy_config)
    if args.out:
        _write_out(plan, args.out)
    if args.json:
        sys.stdout.write(plan.to_json())
    else:
        print_plan(plan, out)
    return EXIT_POLICY if plan.mandatory_violations else EXIT_OK


def _policy_config(args: argparse.Namespace, out: Console, err: Console) -> int:
    project_dir = args.project_dir.resolve()
    config = load_config(project_dir, args.stack)[1]
    previous = load_previous(project_dir, args.stack, args.base) if args.base else None
    merged = stack_policy_config(project_dir / "policies", config, previous, args.policy_config)
    sys.stdout.write(json.dumps(merged, indent=2) + "\n")
    return EXIT_OK


def _review(args: argparse.Namespace, out: Console, err: Console) -> int:
    review = review_stack(
        args.project_dir.resolve(), args.stack, args.base, policy_config=args.policy_config
    )
    if args.format == "json":
        sys.stdout.write(json.dumps(review.document(), indent=2) + "\n")
    else:
        sys.stdout.write(to_markdown(review))
    return EXIT_POLICY if review.mandatory else EXIT_OK


def _rollout(args: argparse.Namespace, out: Console, err: Console) -> int:
    project_dir = args.project_dir.resolve()
    if args.apply:
        require_cli()
    stack_file, config = load_config(project_dir, args.stack)
    change = rollout_change(project_dir, args.stack, config, args.endpoint, args.to)
    if not change.changed:
        out.print(change.summary, markup=False)
        return EXIT_OK
    spec = find_endpoint(config, args.endpoint)
    if spec.traffic.get(args.to, 0) == 0:
        out.print(
            f"guardrails: {args.to} carries no live traffic yet, so there is nothing to check "
            "before its first step.",
            markup=False,
        )
    elif args.skip_guardrails:
        err.print(
            f"WARNING: --skip-guardrails: advancing {args.to} without checking its live "
            "metrics against the endpoint's alert thresholds.",
            markup=False,
        )
    else:
        source = metrics_source(args, config, stack_file)
        decision = check(source, spec, args.to, spec.rollout.bake_minutes)
        print_decision(decision, source, spec, args.to, out)
        if decision.verdict != "advance":
            return _stop_rollout(
                args, project_dir=project_dir, config=config, decision=decision, out=out, err=err
            )
    return _finish(args, project_dir, change, out)


def _stop_rollout(
    args: argparse.Namespace,
    *,
    project_dir: Path,
    config: StackConfig,
    decision: Decision,
    out: Console,
    err: Console,
) -> int:
    """A breach proposes (with --apply performs) the rollback; missing data only stops."""
    if decision.verdict == "insufficient":
        err.print(
            f"mlep: rollout of {args.to} stopped: not enough requests over the bake window to "
            "judge it. Fix: let it take traffic for rollout.bake_minutes and retry (or "
            "--skip-guardrails when you have checked it by other means).",
            markup=False,
        )
        return EXIT_POLICY
    command = f"mlep rollback --stack {args.stack} --endpoint {args.endpoint}"
    if not args.apply:
        err.print(
            f"mlep: rollout of {args.to} stopped: its live metrics breach the endpoint's alert "
            f"thresholds. Roll back with:\n  {command}",
            markup=False,
        )
        return EXIT_POLICY
    err.print(f"mlep: guardrail breach: rolling back ({command} --apply)", markup=False)
    change, _ = rollback_change(project_dir, args.stack, config, args.endpoint, None)
    _finish(args, project_dir, change, out)
    return EXIT_POLICY


def _rollback(args: argparse.Namespace, out: Console, err: Console) -> int:
    project_dir = args.project_dir.resolve()
    if args.apply:
        require_cli()
    config = load_config(project_dir, args.stack)[1]
    change, revision = rollback_change(project_dir, args.stack, config, args.endpoint, args.to)
    if revision is not None:
        out.print(
            f"stable deployment: {revision.full} carried all live traffic at "
            f"{revision.commit[:12]} ({revision.subject})",
            markup=False,
        )
    if not change.changed:
        out.print(f"{change.summary}: already the case, nothing to change", markup=False)
        return EXIT_OK
    return _finish(args, project_dir, change, out)


def _finish(args: argparse.Namespace, project_dir: Path, change: Change, out: Console) -> int:
    """Write the change, show it, and with --apply deploy it."""
    change.write()
    out.file.write(change.diff())  # verbatim: a diff must not be wrapped or styled
    out.print(f"{change.path.name}: {change.summary}", markup=False)
    for note in change.notes:
        out.print(f"note: {note}", markup=False)
    if not args.apply:
        out.print(
            "next: commit this change and open a pull request (or rerun with --apply)",
            markup=False,
        )
        return EXIT_OK
    new_config = load_config(project_dir, args.stack)[1]
    pulumi_up(project_dir, args.stack, new_config, on_output=out.print)
    return EXIT_OK


def _write_out(plan: Plan, directory: Path) -> None:
    """Kubernetes: the manifests, one file per object (and nothing else, so that
    `kubectl apply -f DIR` works). Azure has no manifests: the plan document."""
    if plan.config.target == "kubernetes":
        write_manifests(plan.run.resources, directory, plan.stack_file.name)
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plan.json").write_text(plan.to_json(), encoding="utf-8")


def _new(args: argparse.Namespace, out: Console, err: Console) -> int:
    project_dir = args.project_dir.resolve()
    if args.list:
        for template in list_templates(project_dir):
            out.print(f"{template.name}: {template.description}", markup=False)
            for target in ("azure", "kubernetes"):
                flags = " ".join(
                    item.flag + ("" if item.required else "?")
                    for item in template_inputs(template, target)
                )
                out.print(f"  {target}: {flags}", markup=False)
        return EXIT_OK
    missing = [
        f
        for f, v in (
            ("ENDPOINT", args.endpoint),
            ("--stack", args.stack),
            ("--template", args.template),
        )
        if not v
    ]
    if missing:
        raise UsageError(
            f"mlep new needs {', '.join(missing)}; fix: mlep new ENDPOINT --stack NAME "
            "--template TEMPLATE (mlep new --list shows the templates)"
        )
    config = load_config(project_dir, args.stack)[1]
    template = load_template(project_dir, args.template)
    arguments, parameters = template_values(
        template, config.target, args.template_options, interactive()
    )
    spec = stamp(
        template,
        endpoint=args.endpoint,
        target=config.target,
        owner=arguments["owner"],
        application=arguments["application"],
        data_sensitivity=arguments["data_sensitivity"],
        parameters=parameters,
    )
    return _add(project_dir, args.stack, spec, out, err)


def _import(args: argparse.Namespace, out: Console, err: Console) -> int:
    converted = convert(args.endpoint_file, args.deployment_files)
    for note in converted.notes:
        err.print(f"note: {note}", markup=False)
    if not args.stack:
        out.file.write(render_endpoint(converted.spec, 0))
        return EXIT_OK
    return _add(args.project_dir.resolve(), args.stack, converted.spec, out, err)


def _add(project_dir: Path, stack: str, spec: dict[str, Any], out: Console, err: Console) -> int:
    diff, plan = add_endpoint(project_dir, stack, spec)
    if plan.mandatory_violations:
        print_plan(plan, err)
        err.print(
            f"mlep: endpoint {spec['name']!r} was not added: the stack would have a mandatory "
            f"policy violation (above). Pulumi.{stack}.yaml is unchanged.",
            markup=False,
        )
        return EXIT_POLICY
    out.file.write(diff)
    out.print(
        f"added endpoint {spec['name']} to Pulumi.{stack}.yaml; `mlep plan --stack {stack}` "
        "passes with no mandatory violation. Next: commit it and open a pull request.",
        markup=False,
    )
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace, Console, Console], int]] = {
    "plan": _plan,
    "review": _review,
    "rollout": _rollout,
    "rollback": _rollback,
    "policy-config": _policy_config,
    "new": _new,
    "import": _import,
}


def entry_point() -> None:
    """The installed `mlep` script.

    Exits with ``os._exit`` after flushing: the Pulumi SDK leaves per-thread asyncio event loops
    behind, and their finalizers can print a spurious traceback at interpreter shutdown.
    """
    one_shot_process()
    try:
        code = main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else EXIT_INVALID
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry_point()
