"""No import cycles inside src/topicclf, read from the source (module-level and function-level
imports, and the registry's kind table), and the layering of the model kinds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "topicclf"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _extensions() -> set[str]:
    """C extension modules (leaves of the graph): ``topicclf._ngram`` from ``_ngram.c``."""
    return {".".join(p.relative_to(SRC).with_suffix("").parts) for p in (SRC / PACKAGE).rglob("*.c")}


def _resolve(name: str, known: set[str]) -> str | None:
    """``a.b.c`` -> the longest prefix that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``module`` imports anywhere in its source (top level, in
    functions, under ``if TYPE_CHECKING``: all count), plus ``import_module("literal")`` calls."""
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import sub` imports the submodule `pkg.sub` when there is one,
            # else a name from `pkg`
            names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names = [node.args[0].value]
        for n in names:
            target = _resolve(n, known)
            if target is not None and target != module:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods) | _extensions()
    graph = {m: _imports(m, p, known) for m, p in mods.items()}
    # the registry imports each kind by name from its table
    from topicclf.classifiers.registry import KINDS

    graph["topicclf.classifiers.registry"] |= {module for module, _ in KINDS.values()}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or ``None``."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if color.get(nxt, BLACK) == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if color.get(nxt) == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        color[node] = BLACK
        return None

    for start in sorted(graph):
        if color[start] == WHITE:
            found = visit(start)
            if found:
                return found
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_names_the_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_graph_sees_function_level_imports():
    graph = import_graph()
    # `from .tokenize import tokenize` inside a function of the transformer kind
    assert "topicclf.tokenize" in graph["topicclf.classifiers.transformer"]
    assert "topicclf.classifiers.linear" in graph["topicclf.classifiers.registry"]


KIND_MODULES = ["topicclf.classifiers.linear", "topicclf.classifiers.embedding",
                "topicclf.classifiers.transformer", "topicclf.classifiers.routed"]


def _reachable(graph, start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_base_imports_no_kind_and_kinds_import_no_other_kind():
    graph = import_graph()
    base = _reachable(graph, "topicclf.classifiers.base")
    assert not base & set(KIND_MODULES) and "topicclf.classifiers.registry" not in base, sorted(base)
    for kind in KIND_MODULES:
        reach = _reachable(graph, kind)
        others = (set(KIND_MODULES) - {kind}) | {"topicclf.classifiers.registry"}
        assert not reach & others, (kind, sorted(reach & others))
        assert "topicclf.classifiers.transformer_training" not in reach, kind  # scoring needs no training code


@pytest.mark.parametrize("kind", ["linear", "embedding", "transformer", "routed"])
def test_registry_kinds_name_their_class(kind):
    from topicclf.classifiers.registry import KINDS, kind_class

    cls = kind_class(kind)
    assert cls.kind == kind and cls.__module__ == KINDS[kind][0]
