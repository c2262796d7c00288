"""The package's imports go one way: an ast walk of every module, no cycles, no upward import.

Layers, bottom to top (a module may import its own layer or any layer below):

    errors, units, redact (+ other dependency-free helpers)
    structures, cp2k, parse, study
    engines
    execution
    reactions/binding, db, runner
    continuum, analysis
    fireworks
    cli

Function-level (lazy) imports count too: a lazy import upwards is still a
dependency upwards.
"""

from __future__ import annotations

import ast
from pathlib import Path

import atomistics

PACKAGE = Path(atomistics.__file__).parent

#: top-level name under atomistics -> layer (0 = bottom)
LAYERS = {
    "__init__": 0,
    "errors": 0,
    "units": 0,
    "redact": 0,
    "limits": 0,
    "paths": 0,
    "yamlsafe": 0,
    "jsonable": 0,
    "solvents": 0,
    "charged_cell": 0,
    "structures": 1,
    "cp2k": 1,
    "parse": 1,
    "study": 1,
    "engines": 2,
    "execution": 3,
    "reactions": 4,
    "db": 4,
    "db_postgres": 4,
    "runner": 4,
    "stored_reactions": 4,
    "calcstore": 4,
    "continuum": 5,
    "analysis": 5,
    "fireworks": 6,
    "cli": 7,
    "__main__": 7,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.add(target)
            for a in node.names:  # "from atomistics import db" imports the module atomistics.db
                out.add(f"{target}.{a.name}")
    return {m for m in out if m == "atomistics" or m.startswith("atomistics.")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for target in _imports(path, name):
            # the longest existing module the import names
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != name:
                deps.add(".".join(parts))
        graph[name] = deps
    return graph


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    assert top in LAYERS, f"{module}: add its package {top!r} to LAYERS in this test"
    return LAYERS[top]


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_upward_imports():
    bad = []
    for module, deps in sorted(_graph().items()):
        for dep in sorted(deps):
            if dep == "atomistics":  # the package's own __init__ (version): bottom layer
                continue
            if _layer(dep) > _layer(module):
                bad.append(f"{module} (layer {_layer(module)}) imports {dep} (layer {_layer(dep)})")
    assert not bad, "upward imports:\n  " + "\n  ".join(bad)


def _cycles(g: dict[str, set[str]]) -> list[str]:
    found: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(g.get(node, ())):
            if dep == "atomistics":
                continue
            if state.get(dep) == 1:
                found.append(" -> ".join([*stack[stack.index(dep) :], dep]))
            elif state.get(dep) is None:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_cycles():
    graph = _graph()
    # cycles between top-level packages/modules (a package importing itself is fine)
    tops: dict[str, set[str]] = {}
    for module, deps in graph.items():
        tops.setdefault(_top(module), set()).update(
            _top(d) for d in deps if d != "atomistics" and _top(d) != _top(module)
        )
    # and cycles between modules
    cycles = []
    for g in (tops, graph):
        cycles += _cycles(g)
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


def test_the_walk_sees_lazy_imports():
    """The graph includes function-level imports (a lazy upward import is still upward)."""
    graph = _graph()
    assert "atomistics.continuum.study_bridge" in graph["atomistics.fireworks.tasks"]
    assert "atomistics.db" in graph["atomistics.runner"]


def test_the_checks_can_fail():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a -> b -> c -> a"]
    assert _layer("atomistics.cli.run") > _layer("atomistics.db") > _layer("atomistics.engines.xtb")
