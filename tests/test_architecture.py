"""The layering the code promises (docs/ARCHITECTURE.md): a folder is a layer, and no module
imports upward.

Layers, top to bottom; a module may import its own layer and the layers below it, never one above
(lazy imports inside functions count too). The edges are four layers of their own: the CLI may
start the server, the API mounts the chat page, and neither the chat nor the eval runner imports
the edges above them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from assistant.core.settings import PROJECT_ROOT

#: folders (or top-level modules) of each layer, top to bottom
LAYERS: list[tuple[str, ...]] = [
    ("assistant/cli.py", "assistant/commands"),
    ("assistant/api",),
    ("ui",),
    ("assistant/evaluation",),
    ("assistant/assemble.py",),
    ("assistant/questionlog",),
    ("assistant/answer",),
    ("assistant/storage",),
    ("assistant/ingest", "assistant/embed"),
    ("assistant/text",),
    ("assistant/core", "assistant/__init__.py"),
]
PREFIXES = [tuple(p.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for p in layer) for layer in LAYERS]


def layer_of(module: str) -> int | None:
    """The layer of a first-party module (the longest matching prefix), None for third-party ones."""
    best: tuple[int, int] | None = None
    for level, prefixes in enumerate(PREFIXES):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (level, len(prefix))
    return None if best is None else best[0]


def _modules() -> dict[str, Path]:
    out = {}
    for package in ("assistant", "ui"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(module: str, path: Path) -> set[str]:
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = _modules()


def test_every_module_has_a_layer() -> None:
    assert [m for m in MODULES if layer_of(m) is None] == []


def test_every_folder_of_the_package_is_a_layer() -> None:
    """A new folder must be given its place above, or the layering says nothing about it."""
    named = {p for layer in LAYERS for p in layer}
    folders = {d.relative_to(PROJECT_ROOT).as_posix() for d in (PROJECT_ROOT / "assistant").iterdir()
               if d.is_dir() and (d / "__init__.py").is_file()}
    modules = {f.relative_to(PROJECT_ROOT).as_posix() for f in (PROJECT_ROOT / "assistant").glob("*.py")}
    assert (folders | modules) - named == set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module: str) -> None:
    own = layer_of(module)
    assert own is not None
    upward = []
    for target in _imports(module, MODULES[module]):
        level = layer_of(target)
        # "from assistant import x" names the package; the submodule it names decides
        if target == "assistant" or level is None:
            continue
        if level < own:
            upward.append(f"{target} (layer {level})")
    assert upward == [], f"{module} (layer {own}) imports upward: {sorted(upward)}"
