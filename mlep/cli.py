"""The mlep command line: parses the arguments and calls the rooms; nothing else.

Exit codes: 0 ok, 1 a mandatory policy violation, 2 invalid config or usage, 3 a bug in mlep.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from rich.console import Console

from mlep import ops
from mlep.authoring.adding import import_endpoint, new_endpoint, show_templates
from mlep.authoring.azml.placeholders import parse_sets
from mlep.change.guardrails.run import GuardrailOptions
from mlep.change.review import review_stack, to_markdown
from mlep.change.rollout import NewDeployment
from mlep.change.workflow import TrafficCommand, finish, rollback, rollout, split, start
from mlep.engine import (
    ProgramError,
    check_out,
    one_shot_process,
    plan_stack,
    print_plan,
    rules_at,
)
from mlep.engine import stack_policy_config as merged_policy_config
from mlep.errors import SourceUnavailable, UsageError
from mlep.stack import StackConfigError, StackRef, git, limits, load_previous
from models.errors import ConfigError

EXIT_OK, EXIT_POLICY, EXIT_INVALID, EXIT_INTERNAL, EXIT_UNAVAILABLE = 0, 1, 2, 3, 4
STACK_HELP = "stack name: reads Pulumi.NAME.yaml"
POLICY_CONFIG_HELP = (
    "policy config merged over policies/config/<env>.json (levels, `all`, tunables)"
)


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
    parser.add_argument(
        "--max-file-size",
        type=int,
        metavar="BYTES",
        help=f"the largest stack or az ml file mlep reads (default {limits.MAX_BYTES:,})",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _plan_parsers(commands)
    _rollout_parsers(commands)
    _split_parser(commands)
    _authoring_parsers(commands)
    for module in ops.MODULES:
        module.add_parser(commands)
    return parser


def _plan_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    plan = commands.add_parser("plan", help="run the program offline and print the plan")
    plan.add_argument("--stack", required=True, help=STACK_HELP)
    plan.add_argument("--json", action="store_true", help="print the plan document instead")
    plan.add_argument(
        "--out",
        type=Path,
        help="write the Kubernetes manifests (Azure: plan.json) to this directory when the plan "
        "has no mandatory violation; it must be new, empty or written by mlep before",
    )
    _policy_arguments(plan)

    review = commands.add_parser(
        "review", help="the traffic review of a change, for a pull-request comment"
    )
    review.add_argument("--stack", required=True, help=STACK_HELP)
    review.add_argument(
        "--base", required=True, metavar="GITREF", help="the revision to compare with"
    )
    review.add_argument("--format", choices=("markdown", "json"), default="markdown")
    review.add_argument("--policy-config", type=Path, metavar="FILE", help=POLICY_CONFIG_HELP)

    config = commands.add_parser(
        "policy-config",
        help="print the policy config `mlep plan` uses, for pulumi preview --policy-pack-config",
    )
    config.add_argument("--stack", required=True, help=STACK_HELP)
    _policy_arguments(config)
    config.add_argument(
        "--rules",
        metavar="GITREF",
        help="take the step limits and the environment's policy config from this revision "
        "(default: --base when it is a revision); CI passes the commit before the change",
    )


def _rollout_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    rollout_ = commands.add_parser(
        "rollout", help="move a deployment to the next step of its endpoint's rollout.steps"
    )
    _traffic_arguments(rollout_)
    rollout_.add_argument(
        "--to",
        metavar="DEPLOYMENT",
        help="the deployment to move to its next step; a new name with --model/--image starts "
        "the rollout (the deployment is added as a copy of the stable one, at 0 %%)",
    )
    rollout_.add_argument("--model", help="azure: the new deployment's model, e.g. azureml:fraud:8")
    rollout_.add_argument("--image", help="kubernetes: the new deployment's image, REPO:TAG")
    rollout_.add_argument(
        "--mirror",
        type=int,
        metavar="PERCENT",
        help="with --model/--image: mirror this share of requests to the new deployment",
    )
    rollout_.add_argument(
        "--finish",
        action="store_true",
        help="after a completed rollout: remove the deployments left at 0 %%",
    )
    rollout_.add_argument(
        "--prometheus-url",
        default=os.environ.get("MLEP_PROMETHEUS_URL"),
        metavar="URL",
        help="kubernetes: the Prometheus the guardrails query (default: $MLEP_PROMETHEUS_URL)",
    )
    rollout_.add_argument(
        "--subscription",
        metavar="ID",
        help="azure: the subscription of the workspace, for Azure Monitor (default: the "
        "stack's azure-native:subscriptionId, else $AZURE_SUBSCRIPTION_ID)",
    )
    rollout_.add_argument(
        "--skip-guardrails",
        action="store_true",
        help="advance without checking live metrics (an incident override; says so loudly)",
    )

    rollback_ = commands.add_parser(
        "rollback", help="return all live traffic to the last deployment that carried it"
    )
    _traffic_arguments(rollback_)
    rollback_.add_argument(
        "--to",
        metavar="DEPLOYMENT",
        help="the deployment to return to (default: the last one to carry all traffic, "
        "from the stack file's git history)",
    )


def _split_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    traffic = commands.add_parser(
        "traffic",
        help="set an endpoint's traffic and mirror explicitly (as az ml --traffic / "
        "--mirror-traffic), judged by the step rules",
    )
    _traffic_arguments(traffic)
    traffic.add_argument(
        "--set",
        dest="live",
        metavar="D=P,...",
        help="live traffic, e.g. blue=90,green=10 (sums to 100; deployments not named get 0)",
    )
    traffic.add_argument(
        "--mirror",
        metavar="D=P,...",
        help="mirror traffic, e.g. green=10 (replaces the mirror; 'none' removes it)",
    )


def _authoring_parsers(commands: argparse._SubParsersAction[_Parser]) -> None:
    new = commands.add_parser(
        "new",
        help="add an endpoint to a stack from a template in templates/endpoints",
        description="Template options (--owner, --application, --data-sensitivity and each "
        "template's own, e.g. --model or --image) follow the template; missing ones are asked "
        "for on a terminal. `mlep new --list` shows the templates and their options.",
        add_help=False,  # its --help lists the project's templates too (read in _new)
    )
    new.add_argument(
        "-h", "--help", action="store_true", help="show this help and each template's options"
    )
    new.set_defaults(new_parser=new)
    new.add_argument("endpoint", nargs="?", metavar="ENDPOINT", help="the new endpoint's name")
    new.add_argument("--stack", help="stack name: adds to Pulumi.NAME.yaml")
    new.add_argument("--template", help="a template name (see --list)")
    new.add_argument("--list", action="store_true", help="list the templates and their options")
    _allow_dirty(new)

    azml = commands.add_parser(
        "import", help="convert az ml online endpoint and deployment YAML files to a spec"
    )
    azml.add_argument("endpoint_file", type=Path, metavar="ENDPOINT.yml")
    azml.add_argument("deployment_files", type=Path, nargs="+", metavar="DEPLOYMENT.yml")
    azml.add_argument(
        "--stack", help="add the endpoint to Pulumi.NAME.yaml (default: print the spec)"
    )
    azml.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fill a template placeholder of the files ({{NAME}}, ${NAME}, <NAME>, "
        "name_place_holder); repeatable",
    )
    azml.add_argument(
        "--name",
        help="import the endpoint under this name instead (it also fills the placeholder "
        "the endpoint's `name:` is, in every file)",
    )
    for tag in ("owner", "application", "data-sensitivity"):
        azml.add_argument(f"--{tag}", metavar="VALUE", help=f"the endpoint's `{tag}` tag")
    _allow_dirty(azml)


def _policy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base",
        metavar="GITREF|FILE",
        help="the traffic before this change, for the step rules: a git revision of the stack "
        "file, a plan document (mlep plan --json) or `pulumi stack output endpoints --json`",
    )
    parser.add_argument("--policy-config", type=Path, metavar="FILE", help=POLICY_CONFIG_HELP)


def _traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help=STACK_HELP)
    parser.add_argument("--endpoint", required=True, help="the endpoint whose traffic moves")
    parser.add_argument(
        "--apply",
        action="store_true",
        help="also run `pulumi up` (Automation API; needs the Pulumi CLI and credentials)",
    )
    _allow_dirty(parser)


def _allow_dirty(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="edit the stack file even when it has uncommitted changes (by default mlep "
        "edits only a committed stack file, so its change is the only one to review)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "new":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.template_options = extra
    if args.max_file_size is not None:
        if args.max_file_size < 1:
            parser.error(f"--max-file-size {args.max_file_size}: give a size in bytes")
        limits.set_max_bytes(args.max_file_size)
    # Azure SDK loggers warn on stderr through Python's last-resort handler: DefaultAzureCredential
    # explains each source it tried, at length, before mlep says the same in one paragraph.
    if not os.environ.get("MLEP_DEBUG"):
        logging.getLogger("azure").setLevel(logging.ERROR)
    out = Console(highlight=False)
    # A CI log is no terminal: never break a line mid-sentence there (tables still fit).
    out.soft_wrap = not out.is_terminal
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    handlers: dict[str, Callable[[argparse.Namespace, Console, Console], int]] = COMMANDS | {
        module.NAME: module.run for module in ops.MODULES
    }
    try:
        return handlers[args.command](args, out, err)
    except ConfigError as error:
        # Line numbers of the file the error is about: the working tree or the --base revision.
        lines = error.lines if isinstance(error, StackConfigError) else None
        err.print(error.render(lines), markup=False)
        return EXIT_INVALID
    except (UsageError, ProgramError) as error:
        err.print(f"mlep: error: {error}", markup=False)
        return EXIT_INVALID
    except SourceUnavailable as error:
        err.print(f"mlep: unavailable: {error}", markup=False)
        return EXIT_UNAVAILABLE
    except Exception as error:  # a bug in mlep, not bad input: say so plainly
        err.print(
            f"mlep: internal error ({type(error).__name__}: {error}); please report it "
            "(set MLEP_DEBUG=1 to see the traceback).",
            markup=False,
        )
        if os.environ.get("MLEP_DEBUG"):
            raise
        return EXIT_INTERNAL


def _stack(args: argparse.Namespace) -> StackRef:
    return StackRef(args.project_dir.resolve(), args.stack)


def _plan(args: argparse.Namespace, out: Console, err: Console) -> int:
    quiet = args.json or not err.is_terminal
    if args.out:
        check_out(args.out, args.project_dir.resolve())
    with (
        err.status("Planning (offline, mock runtime) ...", spinner="dots")
        if not quiet
        else nullcontext()
    ):
        plan = plan_stack(_stack(args), base=args.base, policy_config=args.policy_config)
    if args.out and plan.mandatory_violations:
        err.print(
            f"mlep: nothing written to --out {args.out}: the plan has mandatory policy violations.",
            markup=False,
        )
    elif args.out:
        plan.write_out(args.out)
    if args.json:
        sys.stdout.write(plan.to_json())
    else:
        print_plan(plan, out)
    return EXIT_POLICY if plan.mandatory_violations else EXIT_OK


def _policy_config(args: argparse.Namespace, out: Console, err: Console) -> int:
    stack = _stack(args)
    config = stack.load()[1]
    previous = load_previous(stack, args.base) if args.base else None
    pack = stack.project_dir / "policies"
    # What `pulumi up` is handed in CI: the base's limits and environment config.
    if args.rules and not git.is_commit(stack.project_dir, args.rules):
        raise UsageError(
            f"--rules {args.rules}: not a commit of this repository; fix: pass the revision "
            "the change is judged against (CI: the commit before the push)"
        )
    judge = args.rules or args.base
    # None when the stack is new since that revision: its own limits judge its first deploy.
    rules = rules_at(stack, judge) if judge else None
    merged = merged_policy_config(pack, config, previous, args.policy_config, judged_by=rules)
    sys.stdout.write(json.dumps(merged, indent=2) + "\n")
    return EXIT_OK


def _review(args: argparse.Namespace, out: Console, err: Console) -> int:
    review = review_stack(_stack(args), args.base, policy_config=args.policy_config)
    if args.format == "json":
        sys.stdout.write(json.dumps(review.document(), indent=2) + "\n")
    else:
        sys.stdout.write(to_markdown(review))
    return EXIT_POLICY if review.mandatory else EXIT_OK


def _rollout(args: argparse.Namespace, out: Console, err: Console) -> int:
    command = TrafficCommand(_stack(args), args.endpoint, args.apply, args.allow_dirty)
    if args.finish:
        if args.to or args.model or args.image or args.mirror is not None:
            raise UsageError("--finish takes no --to, --model, --image or --mirror")
        return finish(command, out, err)
    if not args.to:
        raise UsageError("mlep rollout: give --to DEPLOYMENT (or --finish)")
    if args.mirror is not None and not 1 <= args.mirror <= 50:
        raise UsageError(f"--mirror {args.mirror}: a shadow gets 1 to 50 percent (TRF-02)")
    if args.model or args.image:
        new = NewDeployment(args.model, args.image, args.mirror)
        return start(command, args.to, new, out, err)
    if args.mirror is not None:
        raise UsageError("--mirror starts a new deployment as a shadow: give --model or --image")
    guardrails = GuardrailOptions(args.prometheus_url, args.subscription, args.skip_guardrails)
    return rollout(command, args.to, guardrails, out, err)


def _rollback(args: argparse.Namespace, out: Console, err: Console) -> int:
    command = TrafficCommand(_stack(args), args.endpoint, args.apply, args.allow_dirty)
    return rollback(command, args.to, out)


def _traffic(args: argparse.Namespace, out: Console, err: Console) -> int:
    command = TrafficCommand(_stack(args), args.endpoint, args.apply, args.allow_dirty)
    return split(command, args.live, args.mirror, out, err)


def _new(args: argparse.Namespace, out: Console, err: Console) -> int:
    if args.help:
        out.print(args.new_parser.format_help(), markup=False)
        out.print("templates (an option with ? is optional):", markup=False)
        return show_templates(args.project_dir.resolve(), out)
    if args.list:
        return show_templates(args.project_dir.resolve(), out)
    given = (("ENDPOINT", args.endpoint), ("--stack", args.stack), ("--template", args.template))
    missing = [flag for flag, value in given if not value]
    if missing:
        raise UsageError(
            f"mlep new needs {', '.join(missing)}; fix: mlep new ENDPOINT --stack NAME "
            "--template TEMPLATE (mlep new --list shows the templates)"
        )
    return new_endpoint(
        _stack(args),
        args.endpoint,
        template_name=args.template,
        options=args.template_options,
        out=out,
        err=err,
        allow_dirty=args.allow_dirty,
    )


def _import(args: argparse.Namespace, out: Console, err: Console) -> int:
    stack = _stack(args) if args.stack is not None else None
    return import_endpoint(
        args.endpoint_file,
        args.deployment_files,
        stack,
        out,
        err,
        allow_dirty=args.allow_dirty,
        values=parse_sets(args.set),
        rename=args.name,
        tags={
            tag: value
            for tag in ("owner", "application", "data-sensitivity")
            if (value := getattr(args, tag.replace("-", "_"))) is not None
        },
    )


COMMANDS: dict[str, Callable[[argparse.Namespace, Console, Console], int]] = {
    "plan": _plan,
    "review": _review,
    "rollout": _rollout,
    "rollback": _rollback,
    "traffic": _traffic,
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
