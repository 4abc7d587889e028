"""One writer of messages: docs/architecture.md ("The ticket actions", "Where each rule
lives") names tickets/actions/thread.py as the one place Message rows are created, so that
every rule a message obeys (a closed ticket, reopening, the first answer, last activity,
delivery, live announcements) is applied whatever route brought it. A module that wrote
Message rows itself would skip them all, and no behaviour test of another route would
notice. This test reads the project's source and fails on any such write elsewhere.

What counts as a write: ``Message.objects.create(`` (and ``bulk_create``, ``get_or_create``,
``update_or_create``, on any manager), ``insert_many(Message, ...)``, and a ``Message(...)``
built to be saved (passed to ``bulk_create``, or ``.save()``d in the same function). An
unsaved ``Message(...)`` built only to be read (chat.actions shows a stored row as a frame)
is not a write. The source is parsed, not searched as text, so comments and docstrings
that name these calls do not count.
"""

import ast
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "tickets" / "actions" / "thread.py"
# Not the product's paths: tests (they build rows to set a case up), migrations (history),
# bench (its fixtures fill tables in bulk to measure reads at scale).
NOT_SCANNED = {"tests", "migrations", "bench", "__pycache__", "node_modules"}
WRITES = {"create", "bulk_create", "get_or_create", "update_or_create"}
MANAGERS = {"objects", "_default_manager", "_base_manager"}


def project_modules() -> list[Path]:
    modules = []
    for directory, subdirectories, files in os.walk(ROOT):
        here = Path(directory)
        subdirectories[:] = [
            name
            for name in subdirectories
            if not name.startswith(".")
            and name not in NOT_SCANNED
            and not (here / name / "pyvenv.cfg").exists()  # a virtual environment
        ]
        modules += [here / name for name in files if name.endswith(".py")]
    return modules


def _dotted(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


class _Scan:
    """The Message writes of one module's syntax tree, by line."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        # The names the module gives tickets' Message (``from ..models import Message as M``);
        # email.message.Message and other Messages are not imported from a "models" module.
        self.names = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("models")
            for alias in node.names
            if alias.name == "Message"
        }

    def is_model(self, node) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.names
        return isinstance(node, ast.Attribute) and (
            node.attr == "Message" and _dotted(node.value).endswith("models")
        )

    def is_built(self, node) -> bool:
        return isinstance(node, ast.Call) and self.is_model(node.func)

    def writes(self) -> list[int]:
        lines = {call.lineno for call in self._calls(self.tree) if self._writes(call)}
        for function in ast.walk(self.tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                lines.update(self._saved(function))
        return sorted(lines)

    def _calls(self, tree) -> list[ast.Call]:
        return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]

    def _writes(self, call: ast.Call) -> bool:
        func = call.func
        if self._manager_write(func):
            return True
        if _dotted(func).split(".")[-1] == "insert_many" and call.args:
            return self.is_model(call.args[0])
        if isinstance(func, ast.Attribute) and func.attr == "bulk_create":
            return any(self.is_built(node) for arg in call.args for node in ast.walk(arg))
        if isinstance(func, ast.Attribute) and func.attr == "save":
            return self.is_built(func.value)  # Message(...).save()
        return False

    def _manager_write(self, func) -> bool:
        """``Message.objects.create``, ``models.Message._default_manager.bulk_create``..."""
        if not (isinstance(func, ast.Attribute) and func.attr in WRITES):
            return False
        manager = func.value
        return isinstance(manager, ast.Attribute) and (
            manager.attr in MANAGERS and self.is_model(manager.value)
        )

    def _saved(self, function) -> set[int]:
        """``message = Message(...)`` then ``message.save()`` in the same function."""
        built = {
            target.id
            for node in ast.walk(function)
            if isinstance(node, ast.Assign) and self.is_built(node.value)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        return {
            call.lineno
            for call in self._calls(function)
            if isinstance(call.func, ast.Attribute)
            and call.func.attr == "save"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in built
        }


def message_writes(source: str) -> list[int]:
    return _Scan(ast.parse(source)).writes()


def test_no_module_but_the_thread_creates_message_rows():
    """Guards the one-writer rule: docs/architecture.md names tickets/actions/thread.py as
    the one place Message rows are created (the rules of every message live there)."""
    modules = project_modules()
    assert WRITER in modules and ROOT / "chat" / "actions.py" in modules  # the scan sees them
    found = {
        str(path.relative_to(ROOT)): lines
        for path in modules
        if path != WRITER and (lines := message_writes(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "Message rows are created outside tickets/actions/thread.py"
    assert message_writes(WRITER.read_text(encoding="utf-8"))  # and the writer does write


IMPORT = "from tickets.models import Message\n"


@pytest.mark.parametrize(
    "source",
    [
        IMPORT + "Message.objects.create(ticket=t, text='x')",
        IMPORT + "Message.objects.bulk_create([Message(ticket=t)])",
        IMPORT + "Message._default_manager.get_or_create(ticket=t)",
        "from ..models import Message as M\nM.objects.update_or_create(ticket=t)",
        "from tickets import models\nmodels.Message.objects.create(ticket=t)",
        IMPORT + "insert_many(Message, rows, same={})",
        IMPORT + "db.insert_many(Message, rows)",
        IMPORT + "manager.bulk_create(Message(ticket=t) for t in tickets)",
        IMPORT + "Message(ticket=t).save()",
        IMPORT + "def f(t):\n    message = Message(ticket=t)\n    message.save()",
    ],
)
def test_the_scan_sees_each_way_of_creating_messages(source):
    assert message_writes(source)


@pytest.mark.parametrize(
    "source",
    [
        IMPORT + "def frame(row):\n    return show(Message(pk=row['pk'], text=row['text']))",
        IMPORT + "Message.objects.filter(pk=1).update(text='x')",
        IMPORT + '"""Message.objects.create( is how not to do it."""',
        "from email.message import Message\nMessage().as_bytes()\nm = Message()\nm.save()",
        "from tickets.models import InboundMessage\nInboundMessage.objects.create(raw=b'')",
    ],
)
def test_the_scan_lets_reads_and_other_messages_be(source):
    assert message_writes(source) == []
