"""The mlep command line.

Exit codes: 0 ok, 1 a mandatory policy violation, 2 invalid config or usage, 3 a bug in mlep.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from rich.console import Console

from mlep.manifests import write_manifests
from mlep.mock_runtime import ProgramError
from mlep.plan import Plan, StackConfigError, load_config, load_previous, plan_stack
from mlep.policy_config import stack_policy_config
from mlep.render import print_plan
from mlep.stackfile import UsageError
from models.errors import ConfigError

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Console(soft_wrap=False, highlight=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        if args.command == "plan":
            return _plan(args, out, err)
        if args.command == "policy-config":
            return _policy_config(args)
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
    return EXIT_INVALID


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


def _policy_config(args: argparse.Namespace) -> int:
    project_dir = args.project_dir.resolve()
    config = load_config(project_dir, args.stack)[1]
    previous = load_previous(project_dir, args.stack, args.base) if args.base else None
    merged = stack_policy_config(project_dir / "policies", config, previous, args.policy_config)
    sys.stdout.write(json.dumps(merged, indent=2) + "\n")
    return EXIT_OK


def _write_out(plan: Plan, directory: Path) -> None:
    """Kubernetes: the manifests, one file per object (and nothing else, so that
    `kubectl apply -f DIR` works). Azure has no manifests: the plan document."""
    if plan.config.target == "kubernetes":
        write_manifests(plan.run.resources, directory, plan.stack_file.name)
        return
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "plan.json").write_text(plan.to_json())


def entry_point() -> None:
    """The installed `mlep` script.

    Exits with ``os._exit`` after flushing: the Pulumi SDK leaves per-thread asyncio event loops
    behind, and their finalizers can print a spurious traceback at interpreter shutdown.
    """
    try:
        code = main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else EXIT_INVALID
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry_point()
