"""The rules of the house, checked: module boundaries, docstrings, settings documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
CHANNEL_LIBRARIES = {"telegram", "twilio", "starlette", "uvicorn", "httpx"}
STORAGE = {"sqlite_utils", "sqlite3", "bot.storage"}
CHANNEL_MODULES = {"terminal", "telegram_channel", "whatsapp", "server", "signatures"}
CORE_MODULES = {
    "core",
    "retrieval",
    "triage",
    "rule_safety",
    "teaching",
    "language",
    "normalize",
    "knowledge",
    "i18n",
    "kbcheck",
    "calibration",
    "freshness",
    "drafts",
    "splitting",
    "settings",
}
# The conversation layer and what it builds on may use storage, never a channel library.
CHANNEL_FREE_MODULES = CORE_MODULES | {"conversation", "desk", "messages", "storage", "keys", "usage"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def modules() -> list[Path]:
    return sorted(BOT.glob("*.py"))


def test_the_core_never_imports_a_channel_library_or_storage() -> None:
    for path in modules():
        if path.stem in CORE_MODULES:
            bad = {n for n in imports(path) if n.split(".")[0] in CHANNEL_LIBRARIES or n in STORAGE}
            assert not bad, f"{path.name} imports {bad}"


def test_memory_and_storage_never_import_a_channel_library_or_a_channel() -> None:
    channels = {f"bot.{m}" for m in CHANNEL_MODULES}
    for path in modules():
        if path.stem in CHANNEL_FREE_MODULES:
            bad = {n for n in imports(path) if n.split(".")[0] in CHANNEL_LIBRARIES or n in channels}
            assert not bad, f"{path.name} imports {bad}"


def test_every_module_is_classified() -> None:
    wiring = {"__init__", "__main__", "app"}
    unknown = {p.stem for p in modules()} - CHANNEL_FREE_MODULES - CHANNEL_MODULES - wiring
    assert not unknown, f"say which side of the boundary these are on: {unknown}"


def test_channels_never_touch_storage_directly() -> None:
    for path in modules():
        if path.stem in CHANNEL_MODULES:
            bad = {n for n in imports(path) if n in STORAGE or n.split(".")[0] in STORAGE}
            assert not bad, f"{path.name} imports {bad}"


def test_no_grab_bag_modules() -> None:
    assert not {p.stem for p in modules()} & {"utils", "helpers", "misc", "common"}


def test_every_module_opens_with_a_docstring_saying_what_it_owns_and_may_import() -> None:
    for path in modules():
        if path.stem == "__init__":
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert doc, f"{path.name} has no docstring"
        assert "May import" in doc, f"{path.name}: say what the module may import"


def test_nothing_reads_the_environment_outside_settings_and_the_entry_point() -> None:
    for path in modules():
        if path.stem in ("settings", "__main__"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text and "getenv" not in text, path.name


def test_every_setting_is_documented_in_the_readme() -> None:
    # Every quoted NAME_WITH_UNDERSCORES in settings.py is an environment variable.
    names = set(re.findall(r'"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"', (BOT / "settings.py").read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert names, "settings.py reads no variable?"
    missing = {n for n in names if f"`{n}`" not in readme}
    assert not missing, f"undocumented settings: {missing}"


EXEMPT_CALLS = {"_", "ngettext", "debug", "info", "warning", "error"}


@pytest.mark.parametrize("module", ["core.py", "conversation.py"])
def test_no_user_facing_literal_outside_the_catalogs(module: str) -> None:
    # Everything people read is built in these modules: every sentence goes through
    # m._ or m.ngettext. Docstrings, comments and log lines are not read by users.
    tree = ast.parse((BOT / module).read_text(encoding="utf-8"))
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in EXEMPT_CALLS:
            exempt |= {id(sub) for arg in node.args for sub in ast.walk(arg)}
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                exempt.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt:
            words = re.findall(r"[A-Za-z]{3,}", node.value)
            is_sentence = len(words) >= 3 and node.value.rstrip().endswith((".", "!", "?", ":"))
            assert not is_sentence, f"{module}: {node.value!r} is not in the catalogs"


UNDERSTANDING = BOT / "understanding"
# The parts of understanding a message; `training` alone builds the whole bot to fit its models.
UNDERSTANDING_PARTS = {
    "__init__",
    "encoder",
    "semantic",
    "ngrams",
    "linear",
    "classifier",
    "ranking",
    "meta",
    "training",
}


def test_understanding_is_a_sub_package_whose_files_name_its_parts() -> None:
    assert {p.stem for p in UNDERSTANDING.glob("*.py")} == UNDERSTANDING_PARTS


def test_understanding_never_imports_a_channel_storage_or_the_conversation() -> None:
    forbidden = {f"bot.{m}" for m in CHANNEL_MODULES} | STORAGE | {"bot.conversation", "bot.desk", "bot.app"}
    for path in sorted(UNDERSTANDING.glob("*.py")):
        names = imports(path)
        bad = {n for n in names if n.split(".")[0] in CHANNEL_LIBRARIES or n in forbidden}
        if path.stem == "training":  # fits the models on the assembled bot, never serves
            bad -= {"bot.app"}
        assert not bad, f"{path.name} imports {bad}"
        if path.stem != "__init__":
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert "May import:" in doc, f"{path.name}: say what it may import"


def test_serving_never_loads_scikit_learn() -> None:
    for path in sorted(UNDERSTANDING.glob("*.py")):
        if path.stem != "training":
            assert not any(n.startswith("sklearn") for n in imports(path)), path.name


def test_every_sub_package_of_bot_is_installed() -> None:
    """A non-editable install (`pip install .`, the image) carries only the packages
    pyproject.toml lists: a sub-package missing there is a ModuleNotFoundError in
    production and nowhere else."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "bot").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found == listed
