"""The code's layering, read from the source: which packages import which, and no import circles.

Every ``import`` statement of ``src/cnnlab`` counts, those inside functions too (an import
put off to run time is still a dependency).  ``from package import name`` depends on the
module ``package.name`` when there is one, else on ``package`` itself.
"""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
README = Path(__file__).resolve().parents[1] / "README.md"

# The one circle cnnlab keeps: tensors' operators are ops, the tape's gradients are built
# from ops, and the ops' gradients are each other (the gradient of reshape is a reshape,
# of a sum a broadcast, ...).
CORE_CIRCLE = ("cnnlab.tensor", "cnnlab.autodiff", "cnnlab.ops.")


def module_names(root):
    """``{dotted module name: path}`` of every module under ``root`` (a folder holding packages)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph(root):
    """``{module: set of the package's modules it imports}``."""
    modules = module_names(root)
    graph = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                candidates = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
            else:
                continue
            for candidate in candidates:
                while candidate and candidate not in modules:  # a name inside a module: the module
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
        graph[name] = targets
    return graph


def circles(graph):
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph(SOURCE)


def imports_between(graph, importers, imported):
    return sorted(
        (source, target)
        for source, targets in graph.items()
        if source.startswith(importers)
        for target in targets
        if target.startswith(imported)
    )


def test_keras_builds_on_ops_alone_never_on_kernels_or_the_runtime(graph):
    assert imports_between(graph, "cnnlab.keras", ("cnnlab.kernels", "cnnlab.runtime")) == []


def test_each_layer_imports_only_the_layers_below_it(graph):
    # kernels: no tensors, no ops; the runtime: nothing of cnnlab above it; ops: no Keras, no command.
    assert imports_between(graph, "cnnlab.kernels", ("cnnlab.tensor", "cnnlab.autodiff", "cnnlab.ops", "cnnlab.keras")) == []
    runtime_imports = imports_between(graph, "cnnlab.runtime", "cnnlab")
    assert [(source, target) for source, target in runtime_imports if not target.startswith("cnnlab.runtime")] == []
    assert imports_between(graph, "cnnlab.ops", ("cnnlab.keras", "cnnlab.cli")) == []
    outside_the_command = [source for source, targets in graph.items() if not source.startswith("cnnlab.cli")
                           for target in targets if target.startswith("cnnlab.cli")]
    assert outside_the_command == []


def test_no_import_circles_but_the_ops_own(graph):
    found = circles(graph)
    assert [component for component in found if not all(name.startswith(CORE_CIRCLE) for name in component)] == []
    assert any("cnnlab.ops.math_ops" in component for component in found)  # the walk does see circles


def test_the_walk_finds_a_circle_through_an_import_inside_a_function(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .low import f\n")
    (package / "sub" / "low.py").write_text("def f():\n    from ..high import g\n    return g\n")
    (package / "high.py").write_text("from .sub import low\n\ndef g():\n    return low\n")
    graph = import_graph(tmp_path)
    assert graph["pkg.high"] == {"pkg.sub.low"}
    assert circles(graph) == [["pkg.high", "pkg.sub.low"]]


def test_the_readme_stays_a_short_document():
    assert len(README.read_text(encoding="utf-8")) < 12_000
