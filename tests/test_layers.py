"""The package's structure as a contract: layers that import only downward, no import
cycle, no private name used across modules, and nothing optional loaded by ``import
isotree``.

The layers are the list in ``pyproject.toml`` (``[tool.importlinter]``, import-linter's
format), read here, so the contract, the check and the contributor page cannot drift. Every
import counts, function-level ones included.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "isotree"


def _layers():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    layers = []
    for layer in contract["layers"]:
        independent = "|" in layer
        names = [n.strip() for n in layer.replace("|", ":").split(":")]
        layers.append(([f"isotree.{n}" for n in names], independent))
    return layers


LAYERS = _layers()


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(module, level, name):
    """The absolute name of ``from <level dots><name> import ...`` inside ``module``."""
    if level == 0:
        return name
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    for _ in range(level - 1):
        package = package.rsplit(".", 1)[0]
    return f"{package}.{name}" if name else package


def _imports(module):
    """Every ``(imported isotree module, imported name or None, line)`` of ``module``, and
    every attribute ``alias._private`` read from an imported isotree module."""
    tree = ast.parse(MODULES[module].read_text())
    imports, private_reads, aliases = [], [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("isotree"):
                    imports.append((alias.name, None, node.lineno))
                    aliases[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module)
            if not base.startswith("isotree"):
                continue
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in MODULES:  # a submodule
                    imports.append((full, None, node.lineno))
                    aliases[alias.asname or alias.name] = full
                else:
                    imports.append((base, alias.name, node.lineno))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in aliases and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            private_reads.append((aliases[node.value.id], node.attr, node.lineno))
    return imports, private_reads


def _layer_of(module):
    """(layer index, sibling name, independent) of the longest matching layer entry."""
    best = None
    for index, (names, independent) in enumerate(LAYERS):
        for name in names:
            if module == name or module.startswith(name + "."):
                if best is None or len(name) > len(best[1]):
                    best = (index, name, independent)
    return best


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if m != "isotree" and _layer_of(m) is None]
    assert not missing, f"add these modules to the layers in pyproject.toml: {missing}"


def test_imports_go_only_downward():
    violations = []
    for module in MODULES:
        if module == "isotree":  # the package's namespace re-exports the public layer
            continue
        here = _layer_of(module)
        for target, _, line in _imports(module)[0]:
            if target == "isotree":
                violations.append(f"{module}:{line} imports the package itself")
                continue
            there = _layer_of(target)
            if there[0] < here[0]:
                violations.append(f"{module}:{line} imports {target} from a higher layer")
            elif there[0] == here[0] and there[1] != here[1] and here[2]:
                violations.append(f"{module}:{line} imports its independent sibling {target}")
    assert not violations, "\n".join(violations)


def test_no_import_cycle():
    graph = {m: {t for t, _, _ in _imports(m)[0] if t in MODULES and t != m}
             for m in MODULES if m != "isotree"}
    # Importing a submodule runs its package's __init__: count that edge too.
    for m in list(graph):
        for t in list(graph[m]):
            parent = t.rsplit(".", 1)[0]
            if parent != "isotree" and parent in graph and parent != m and \
                    not m.startswith(parent + "."):
                graph[m].add(parent)
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for t in graph.get(m, ()):
            if state.get(t) == "open":
                cycle = stack[stack.index(t):] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_private_name_crosses_a_module():
    violations = []
    for module in MODULES:
        imports, private_reads = _imports(module)
        for target, name, line in imports:
            if name is not None and name.startswith("_") and not name.startswith("__") \
                    and target != module:
                violations.append(f"{module}:{line} imports {target}.{name}")
        for target, name, line in private_reads:
            if target != module:
                violations.append(f"{module}:{line} reads {target}.{name}")
    assert not violations, "\n".join(violations)


def test_import_isotree_loads_no_optional_dependency():
    code = ("import sys, isotree; isotree.isotonic_regression([2.0, 1.0]); "
            "print(sorted(m for m in ('torch', 'jax', 'cupy', 'array_api_compat', "
            "'scipy.optimize', 'sklearn', 'pandas', 'networkx', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]"
