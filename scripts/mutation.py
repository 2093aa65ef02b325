"""A small mutation pass: does any test notice when a module's logic is flipped?

    python scripts/mutation.py MODULE.py [MODULE.py ...] -- PYTEST ARGS

For each module, each mutant flips one thing (a comparison, `and`/`or`, a `not`, `is None`,
a boolean constant, an integer by one, a `return` value to None), writes the mutated module
in place, runs pytest with the given arguments (stopping at the first failure), and restores
the module. A mutant that no test kills is printed with its line: either a missing test or a
change without effect (say which in the review). A run that outlives TIMEOUT_S (a mutant that
makes a loop spin or a lock wait forever) counts as killed. The original file is restored
even on Ctrl-C.

Run it in a copy of the checkout (`git clone . /tmp/m && cd /tmp/m`), never in a tree others
use. It puts the current directory first on PYTHONPATH, so that the `mlep` processes the CLI
tests start import the mutated modules too, not the editable install's.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 120
_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}


@dataclass(frozen=True)
class Mutant:
    line: int
    description: str
    source: str


class _Mutator(ast.NodeTransformer):
    """Applies the ``target``-th possible mutation (in walk order) and counts them all."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.seen = 0
        self.applied: tuple[int, str] | None = None

    def _hit(self, node: ast.AST, description: str) -> bool:
        hit = self.seen == self.target
        self.seen += 1
        if hit:
            self.applied = (getattr(node, "lineno", 0), description)
        return hit

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for index, op in enumerate(node.ops):
            swap = _SWAPS.get(type(op))
            if swap is not None and self._hit(node, f"{type(op).__name__} -> {swap.__name__}"):
                node.ops[index] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        if self._hit(node, f"{type(node.op).__name__} -> {type(other).__name__}"):
            node.op = other
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._hit(node, "drop `not`"):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, bool) and self._hit(node, f"{node.value} -> {not node.value}"):
            return ast.copy_location(ast.Constant(not node.value), node)
        if (
            type(node.value) is int
            and node.value not in (0, 1)
            and self._hit(node, f"{node.value} -> {node.value + 1}")
        ):
            return ast.copy_location(ast.Constant(node.value + 1), node)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        returns_none = isinstance(node.value, ast.Constant) and node.value.value is None
        if node.value is not None and not returns_none and self._hit(node, "return None"):
            node.value = ast.Constant(None)
        return node


def mutants(source: str) -> Iterator[Mutant]:
    tree = ast.parse(source)
    total = _Mutator(-1)
    total.visit(tree)
    for target in range(total.seen):
        mutator = _Mutator(target)
        mutated = mutator.visit(ast.parse(source))
        if mutator.applied is not None:
            line, description = mutator.applied
            yield Mutant(line, description, ast.unparse(ast.fix_missing_locations(mutated)))


def main(argv: list[str]) -> int:
    if "--" not in argv:
        sys.stderr.write(__doc__ or "")
        return 2
    split = argv.index("--")
    modules, pytest_args = [Path(m) for m in argv[:split]], argv[split + 1 :]
    paths = [str(Path.cwd()), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    survivors = 0
    for module in modules:
        original = module.read_text(encoding="utf-8")
        found = list(mutants(original))
        killed = 0
        try:
            for mutant in found:
                module.write_text(mutant.source, encoding="utf-8")
                try:
                    done = subprocess.run(
                        [sys.executable, "-m", "pytest", "-x", "-q", *pytest_args],
                        capture_output=True,
                        check=False,
                        timeout=TIMEOUT_S,
                        env=env,
                    )
                except subprocess.TimeoutExpired:
                    killed += 1
                    print(f"timed out {module}:{mutant.line}: {mutant.description}", flush=True)
                    continue
                if done.returncode == 0:
                    survivors += 1
                    print(f"SURVIVED {module}:{mutant.line}: {mutant.description}", flush=True)
                else:
                    killed += 1
        finally:
            module.write_text(original, encoding="utf-8")
        print(f"{module}: {killed}/{len(found)} mutants killed", flush=True)
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
