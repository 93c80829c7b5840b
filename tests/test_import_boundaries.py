"""`course` ships to students: it must never import instructor-only code."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = ("solutions", "autograder")


def imported_modules(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_course_module_imports_solutions_or_autograder():
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_modules(p) & set(FORBIDDEN))
        for p in (ROOT / "course").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_importing_every_course_module_loads_no_instructor_code():
    modules = [f"course.{p.stem}" for p in (ROOT / "course").glob("*.py") if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------ what enters the sandbox

RUNTIME = ROOT / "autograder" / "runtime"
RUNTIME_MAY_IMPORT = {"numpy", "IPython", "traitlets", "autograder"}
# The zygote also imports, once, what every notebook imports anyway (it never runs their code).
WARM_UP_MAY_IMPORT = RUNTIME_MAY_IMPORT | {"matplotlib", "matplotlib_inline", "course"}


def absolute_imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_runtime_imports_only_the_standard_library_numpy_ipython_and_itself():
    for path in sorted(RUNTIME.rglob("*.py")):
        for name in absolute_imports(path):
            root = name.split(".")[0]
            allowed = WARM_UP_MAY_IMPORT if path.name == "zygote.py" else RUNTIME_MAY_IMPORT
            assert root in sys.stdlib_module_names or root in allowed, (path, name)
            if root == "autograder":
                assert name == "autograder.runtime" or name.startswith("autograder.runtime."), (path, name)


def test_the_staged_sandbox_holds_no_reference_no_checks_no_catalogue(tmp_path):
    from autograder.sandbox import staging

    staged = staging.stage(tmp_path / "runtime")
    python_files = {p.relative_to(staged).as_posix() for p in staged.rglob("*.py")}
    assert not any(p.startswith(("solutions/", "autograder/spec", "autograder/grading", "autograder/commands"))
                   for p in python_files), python_files
    assert {p.split("/")[0] for p in python_files} == {"course", "autograder"}
    grader_files = {p for p in python_files if p.startswith("autograder/")}
    assert grader_files == {"autograder/__init__.py"} | {f"autograder/{p.relative_to(ROOT / 'autograder').as_posix()}"
                                                        for p in RUNTIME.rglob("*.py")}
    for path in grader_files:
        imported = {n.split(".")[0] for n in absolute_imports(staged / path)}
        assert not imported & {"solutions", "torch", "tensorflow", "jax"}, (path, imported)
        assert "autograder.spec" not in (staged / path).read_text(), path


def test_the_grader_packages_have_no_import_cycles():
    """Package-level graph of autograder's subpackages: it must be acyclic."""
    packages = [p.name for p in (ROOT / "autograder").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    edges = {p: set() for p in packages}
    for package in packages:
        for path in (ROOT / "autograder" / package).rglob("*.py"):
            for name in absolute_imports(path):
                parts = name.split(".")
                if parts[0] == "autograder" and len(parts) > 1 and parts[1] in edges and parts[1] != package:
                    edges[package].add(parts[1])
    visiting, done = set(), set()

    def visit(node, trail):
        assert node not in visiting, f"import cycle: {' -> '.join(trail + [node])}"
        if node in done:
            return
        visiting.add(node)
        for nxt in edges[node]:
            visit(nxt, trail + [node])
        visiting.discard(node)
        done.add(node)

    for package in packages:
        visit(package, [])


def test_the_hidden_test_cells_kernel_module_imports_nothing_of_the_grader():
    assert not any(n.startswith(("autograder", "solutions")) for n in absolute_imports(ROOT / "autograder" / "kernel.py"))
