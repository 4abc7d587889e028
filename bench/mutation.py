"""Mutation testing of our own: do the tests notice when a module's logic is changed?

    .venv/bin/python bench/mutation.py mywallet_support/pii.py mywallet_support/masking.py \\
        --tests tests/mywallet_support/test_pii.py tests/mywallet_support/test_masking.py \\
        [--sample N] [--seed S] [--timeout SECONDS] [--jobs J]

Each mutant is one small change to a module's syntax tree: a comparison flipped or relaxed
(< to >=, < to <=), an integer constant moved by one, `and` and `or` swapped, a slice's
bound shifted by one, a function's boolean result negated, a `not` removed. The tests run
against each mutant (pytest -x -q); a mutant they fail on, or time out on, is killed. The
score is killed / total; the survivors are printed with their line and change.

Speed: Django is set up once, then each mutant runs in a forked child that drops the
mutated modules (and the modules of their package that imported them) from sys.modules
and imports the mutant in their place through an import hook, so a run costs the tests'
own time, not a new interpreter's. The tests given must therefore need no database and
import what they test directly; mutating a module the app registry holds (models) is
not supported. POSIX only (fork).
"""

import argparse
import ast
import contextlib
import copy
import importlib.abc
import importlib.util
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLIPPED = {
    ast.Lt: ast.GtE,
    ast.LtE: ast.Gt,
    ast.Gt: ast.LtE,
    ast.GtE: ast.Lt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
RELAXED = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}


@dataclass(frozen=True)
class Mutant:
    path: Path
    module: str
    line: int
    change: str
    source: str


def mutants_of(path: Path) -> list[Mutant]:
    """Every mutant of one module, in the order of its source."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = ".".join(path.resolve().relative_to(ROOT).with_suffix("").parts)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        for old, new in _changes(node, parents):
            change = f"{ast.unparse(old)}  ->  {ast.unparse(new)}"
            with _swapped(parents[old], old, new):
                source = ast.unparse(tree)
            found.append(Mutant(path, module, old.lineno, change, source))
    return sorted(found, key=lambda m: m.line)


def _changes(node: ast.AST, parents: dict):
    """(node, replacement) pairs: the mutations this node allows."""
    if isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            for table in (FLIPPED, RELAXED):
                if type(op) in table:
                    new = copy.copy(node)
                    new.ops = [*node.ops[:index], table[type(op)](), *node.ops[index + 1 :]]
                    yield node, new
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        for step in (1, -1):
            yield node, ast.Constant(node.value + step)
    elif isinstance(node, ast.BoolOp):
        yield node, ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield node, node.operand
    elif isinstance(node, ast.Slice):
        # A constant bound is already moved by the constant's own mutants.
        for bound in (node.lower, node.upper):
            if bound is not None and not isinstance(bound, ast.Constant):
                for op in (ast.Add(), ast.Sub()):
                    yield bound, ast.BinOp(bound, op, ast.Constant(1))
    elif isinstance(node, ast.Return) and node.value is not None and _returns_bool(node, parents):
        value = node.value
        if isinstance(value, ast.Constant):
            yield value, ast.Constant(not value.value)
        else:
            yield value, ast.UnaryOp(ast.Not(), value)


def _returns_bool(node: ast.AST, parents: dict) -> bool:
    while not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        node = parents.get(node)
        if node is None:
            return False
    return isinstance(node.returns, ast.Name) and node.returns.id == "bool"


class _swapped:
    """Puts ``new`` where ``old`` is in ``parent`` for the length of a with block."""

    def __init__(self, parent: ast.AST, old: ast.AST, new: ast.AST):
        self.parent, self.old, self.new = parent, old, new

    def _put(self, was: ast.AST, now: ast.AST) -> None:
        for field, value in ast.iter_fields(self.parent):
            if value is was:
                setattr(self.parent, field, now)
                return
            if isinstance(value, list) and any(item is was for item in value):
                value[[id(item) for item in value].index(id(was))] = now
                return
        raise LookupError(f"{was!r} is not a child of {self.parent!r}")

    def __enter__(self):
        self._put(self.old, self.new)

    def __exit__(self, *exc):
        self._put(self.new, self.old)


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the mutant's source for its module name; every other import goes on as usual."""

    def __init__(self, mutant: Mutant):
        self.mutant = mutant

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.mutant.module:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=str(self.mutant.path))

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__file__ = str(self.mutant.path)
        exec(compile(self.mutant.source, str(self.mutant.path), "exec"), module.__dict__)  # noqa: S102


def _forget(names: set[str]) -> None:
    """Drops the mutated modules, the modules of their packages that took names from them,
    and the tests, so that the child imports each afresh (the mutant in its place)."""
    packages = {name.rpartition(".")[0] for name in names}
    dropped = set(names)
    changed = True
    while changed:
        changed = False
        for name, module in list(sys.modules.items()):
            if name in dropped or name.rpartition(".")[0] not in packages:
                continue
            values = vars(module).values() if module else ()
            if any(
                getattr(value, "__module__", getattr(value, "__name__", None)) in dropped
                for value in values
            ):
                dropped.add(name)
                changed = True
    dropped |= {name for name in sys.modules if name == "tests" or name.startswith("tests.")}
    for name in dropped:
        module = sys.modules.pop(name, None)
        parent, _, child = name.rpartition(".")
        if module is not None and parent in sys.modules:
            vars(sys.modules[parent]).pop(child, None)


def _run_child(mutant: Mutant | None, tests: list[str], targets: set[str], quiet: bool) -> None:
    """In the forked child: swap the module, run the tests, exit with pytest's status."""
    import pytest

    if quiet:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
    _forget(targets)
    if mutant is not None:
        sys.meta_path.insert(0, _MutantFinder(mutant))
    status = pytest.main([*tests, "-x", "-q", "-p", "no:cacheprovider"])
    sys.stdout.flush()
    os._exit(int(status))


def _start(mutant, tests, targets, quiet) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            _run_child(mutant, tests, targets, quiet)
        finally:
            os._exit(70)
    return pid


def run_all(mutants: list[Mutant], tests: list[str], *, timeout: float, jobs: int) -> list[bool]:
    """Whether each mutant was killed, running ``jobs`` at once."""
    targets = {m.module for m in mutants}
    killed: list[bool | None] = [None] * len(mutants)
    running: dict[int, tuple[int, float]] = {}
    pending = list(range(len(mutants)))
    while pending or running:
        while pending and len(running) < jobs:
            index = pending.pop(0)
            running[_start(mutants[index], tests, targets, True)] = (index, time.monotonic())
        time.sleep(0.01)
        for pid, (index, started) in list(running.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                killed[index] = os.waitstatus_to_exitcode(status) != 0
            elif time.monotonic() - started > timeout:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                killed[index] = True  # a mutant that loops forever is noticed too
            else:
                continue
            del running[pid]
            print("x" if killed[index] else ".", end="", flush=True)
    print()
    return killed


def _set_up(tests: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mywallet_support.settings")
    importlib.import_module("tests.pytest_env")
    import django
    import pytest

    django.setup()
    # Collecting the tests once imports pytest's plugins and the tests' libraries here, so
    # each forked child finds them loaded (it re-imports only what _forget dropped).
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", *tests])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="+", type=Path)
    parser.add_argument("--tests", nargs="+", required=True)
    parser.add_argument("--sample", type=int, help="run this many mutants, chosen at random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=30, help="seconds per mutant")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    mutants = [m for path in args.modules for m in mutants_of(path.resolve())]
    if args.sample and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    _set_up(args.tests)

    baseline = _start(None, args.tests, {m.module for m in mutants}, False)
    _, status = os.waitpid(baseline, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        print("The tests fail on the unchanged code: fix them first.")
        return 2

    print(f"{len(mutants)} mutants, {args.jobs} at a time")
    killed = run_all(mutants, args.tests, timeout=args.timeout, jobs=args.jobs)
    survivors = [m for m, k in zip(mutants, killed, strict=True) if not k]
    total = len(mutants)
    score = 100 * (total - len(survivors)) / total if total else 100.0
    print(f"killed {total - len(survivors)} / {total}, score {score:.1f}%")
    for m in sorted(survivors, key=lambda m: (str(m.path), m.line)):
        print(f"  survived {m.path.relative_to(ROOT)}:{m.line}: {m.change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
