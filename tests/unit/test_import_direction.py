"""The import graph reads top-down: files → site → plan → publish → targets.

Every ``import`` in src/postpipe (module level and inside functions, type-only
ones included) is read with ``ast``; an edge that reaches back up fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: what the modules below the site (files, rendering, checks, ledger, HTTP) never import
UPPER = {
    "postpipe.site",
    "postpipe.plan",
    "postpipe.publish",
    "postpipe.targets",
    "postpipe.cli",
    "postpipe.preview",
    "postpipe.preview_snapshot",
    "postpipe.pipeline",
}
FILES_LEVEL = (
    "postpipe.content",
    "postpipe.config",
    "postpipe.build",
    "postpipe.build_lists",
    "postpipe.cache",
    "postpipe.render",
    "postpipe.checks",
    "postpipe.assets",
    "postpipe.ledger",
    "postpipe.http",
    "postpipe.keys",
    "postpipe.errors",
    "postpipe.paths",
)

#: importer (a module or a package prefix) → modules it must never import
FORBIDDEN: dict[str, set[str]] = {
    # adapters get frozen inputs and narrow interfaces: never the ledger, the builder,
    # the site or the code that drives them
    "postpipe.targets": {
        "postpipe.publish",
        "postpipe.plan",
        "postpipe.site",
        "postpipe.build",
        "postpipe.build_lists",
        "postpipe.pipeline",
        "postpipe.cache",
        "postpipe.ledger",
        "postpipe.checks",
        "postpipe.preview",
        "postpipe.preview_snapshot",
        "postpipe.cli",
    },
    "postpipe.plan": {
        "postpipe.publish",
        "postpipe.cli",
        "postpipe.preview",
        "postpipe.preview_snapshot",
        "postpipe.pipeline",
    },
    "postpipe.site": {
        "postpipe.plan",
        "postpipe.publish",
        "postpipe.targets",
        "postpipe.cli",
        "postpipe.preview",
        "postpipe.preview_snapshot",
    },
    "postpipe.publish": {
        "postpipe.cli",
        "postpipe.preview",
        "postpipe.preview_snapshot",
        "postpipe.pipeline",
    },
    **{m: UPPER for m in FILES_LEVEL},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports (relative imports resolved against ``module``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from . import publish`` imports a module, not a name
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def back_edges(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for importer, imported in sorted(graph.items()):
        for rule, forbidden in FORBIDDEN.items():
            if not _within(importer, rule):
                continue
            for name in sorted(imported):
                if any(_within(name, f) for f in forbidden):
                    bad.append(f"{importer} imports {name}")
    return bad


def graph_of_src() -> dict[str, set[str]]:
    return {
        module_name(p): imports(p.read_text(encoding="utf-8"), module_name(p), p.stem == "__init__")
        for p in (SRC / "postpipe").rglob("*.py")
    }


def test_the_import_graph_has_no_back_edges() -> None:
    graph = graph_of_src()
    assert "postpipe.plan" in graph and "postpipe.targets.wordpress" in graph
    assert back_edges(graph) == []


@pytest.mark.parametrize(
    ("module", "source", "edge"),
    [
        ("postpipe.targets.ghost", "from ..ledger import Ledger", "postpipe.ledger"),
        ("postpipe.targets.folder", "def f():\n    from ..build import Builder", "postpipe.build"),
        ("postpipe.plan", "from . import publish", "postpipe.publish"),
        ("postpipe.site", "import postpipe.plan", "postpipe.plan"),
        ("postpipe.content", "from .site import Site", "postpipe.site"),
    ],
)
def test_a_back_edge_is_found(module: str, source: str, edge: str) -> None:
    # the check itself: one added back-edge (module level or in a function) fails it
    bad = back_edges({module: imports(source, module)})
    assert any(line.endswith(edge) or f"{edge}." in line for line in bad), bad


def test_allowed_directions_pass() -> None:
    graph = {
        "postpipe.publish": imports(
            "from .plan import plan\nfrom .targets.base import CMS", "postpipe.publish"
        ),
        "postpipe.plan": imports("from .site import Site", "postpipe.plan"),
        "postpipe.targets.ghost": imports("from ..http import Http", "postpipe.targets.ghost"),
    }
    assert back_edges(graph) == []
