"""Answers are NumPy: which answer cells reach for a module an answer may not use.

An answer cell may use NumPy, Python's standard library and the public `course` package. Anything
else (PyTorch, TensorFlow, JAX, SciPy, scikit-learn, the reference `solutions`, the grader
`autograder`, ...) costs every graded function the cell defines, with a message naming the
module, whether the cell imports it (`import`, `from ... import`, `__import__`, `importlib`) or
uses a name that another cell of the notebook bound to it (the setup cell's `import torch`). So
does a way around the scan: an import of a computed name, exec/eval/compile, or sys.modules.

This reads source text and never runs it. It is the message; the enforcement is the sandbox,
where PyTorch and the reference do not exist.
"""
from __future__ import annotations

import ast
import sys

ALLOWED_ROOTS = {"numpy", "course", "__future__"}
_STDLIB = set(sys.stdlib_module_names)


def allowed(module: str) -> bool:
    root = module.split(".")[0]
    return root in ALLOWED_ROOTS or root in _STDLIB


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        # IPython syntax (magics, shell escapes): judge the lines that are Python.
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            return ast.parse("\n".join(lines))
        except SyntaxError:
            return None


def _dynamic_import(node: ast.Call) -> str | None:
    name = getattr(node.func, "id", getattr(node.func, "attr", ""))
    if name in ("__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def bindings(source: str) -> dict[str, str]:
    """Names a cell binds to modules: {'torch': 'torch', 'F': 'torch.nn.functional', 'np': 'numpy'}."""
    tree = _parse(source)
    found = {}
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found[alias.asname or alias.name] = node.module
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _dynamic_import(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = _dynamic_import(node.value)
    return found


def defined_names(source: str) -> set[str]:
    """Names a cell defines at its top level: `def`, `class`, or an assignment (`f = g`)."""
    tree = _parse(source)
    names = set()
    for node in getattr(tree, "body", []):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, "targets", []) + ([node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []):
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _evasion(node: ast.AST) -> str | None:
    """A way to reach code the scan cannot name: a computed import, exec/eval, sys.modules."""
    if isinstance(node, ast.Call):
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name in ("__import__", "import_module") and not (node.args and isinstance(node.args[0], ast.Constant)):
            return "an import of a computed module name"
        if isinstance(node.func, ast.Name) and name in ("exec", "eval", "compile"):
            return f"{name}()"
    if isinstance(node, ast.Attribute) and node.attr == "modules" and getattr(node.value, "id", "") == "sys":
        return "sys.modules"
    return None


def forbidden_use(source: str, notebook_bindings: dict[str, str]) -> str | None:
    """The first module an answer may not use that this cell imports or reaches by a name, else None."""
    tree = _parse(source)
    if tree is None:
        return None
    # A name the cell binds itself (an assignment, an argument, a loop variable) is not the module
    # another cell bound: `N, F = x.shape` in an answer does not use torch.nn.functional as F.
    own = set(bindings(source)) | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    own |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in (*n.posonlyargs, *n.args, *n.kwonlyargs)}
    for node in ast.walk(tree):
        evasion = _evasion(node)
        if evasion:
            return evasion
        modules = []
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            modules = [_dynamic_import(node)]
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in own \
                and node.id in notebook_bindings:
            modules = [notebook_bindings[node.id]]
        for module in modules:
            if not allowed(module):
                return module.split(".")[0]
    return None
