"""Synthetic students, for the demo and the tests: notebooks as a class would hand them in.

- `reference`: the source notebook itself (every solution in place): must earn every point.
- `blank`: the release notebook untouched: must earn nothing, quickly.
- `with_edits`: the source notebook with one-line slips written into its code, as a student's
  notebook would hold them (the sandbox has no catalogue to plant mistakes from).
- `hostile`: a student who attacks the grader (see HOSTILE_CELLS).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import nbformat



def reference(source_nb: Path):
    return nbformat.read(source_nb, as_version=4)


def blank(release_nb: Path):
    return nbformat.read(release_nb, as_version=4)


def write(nb, course_root: Path, student: str, assignment: str) -> Path:
    """Place a notebook where nbgrader autograde looks for it: submitted/<student>/<assignment>/."""
    path = Path(course_root) / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some synthetic students duplicate cells on purpose
        nbformat.write(nb, path)
    return path


# ------------------------------------------------------------------ hostile students
# Each entry: (base, cell inserted after the setup cell, or a transformation of the notebook).
# 'blank' bases must still earn nothing; 'reference' bases must keep every autograded point.
HOSTILE_CELLS = {
    "infinite-loop": ("blank", "while True:\n    pass"),
    "os-exit": ("blank", "import os\nos._exit(0)"),
    "segfault": ("blank", "import ctypes\nctypes.string_at(0)"),
    "memory-bomb": ("blank", "hog = [bytearray(1 << 28) for _ in range(10_000)]"),
    "fork-bomb": ("blank", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"),
    "huge-output": ("blank", "print('x' * 10_000_000)"),
    "allclose-patch": ("blank", "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
                                "np.array_equal = lambda *a, **k: True"),
    # Every driver the runtime calls is made to return made-up outputs (a copy of its inputs).
    "driver-patch": ("blank", "import numpy as np\nimport autograder.runtime.drivers as d\n"
                              "def forged(session, inputs):\n"
                              "    arrays = [v for v in inputs.values() if isinstance(v, np.ndarray)]\n"
                              "    return {k: arrays[0] for k in ('out', 'dx', 'dw', 'db', 'loss', 'dgamma', 'dbeta', 'again', 'test', 'dx_test', 'other seed', 'no seed', 'no seed again')}\n"
                              "for driver in d.DRIVERS.values():\n"
                              "    object.__setattr__(driver, 'run', forged)\n"
                              "d.Session.call = lambda self, name, *args, protect=True: args[0][1]"),
    # Lines written straight into the grader's channel: a fatal report, a forged result, nesting.
    "protocol-forge": ("blank", "import os\nfor fd in range(3, 64):\n    try:\n"
                                "        os.write(fd, b'{\"fatal\": \"forged\"}\\n' + b'[' * 100000 + b'\\n'"
                                " + b'{\"cell\": 99, \"status\": \"done\", \"outputs\": [{\"output_type\": \"bogus\"}]}\\n'"
                                " + b'{\"finished\": true}\\n')\n    except OSError:\n        pass"),
    # Thousands of well-formed but unasked-for messages, then silence on the channel the cases come from.
    "protocol-flood": ("blank", "import os\nline = b'{\"cell\": 0, \"status\": \"started\"}\\n'\n"
                                "for fd in range(3, 64):\n    try:\n        os.write(fd, line * 50000)\n    except OSError:\n        pass"),
    "protocol-stall": ("blank", "import os\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass"),
    # Every callable of the grader's and the course's modules replaced: the runtime must not crash the grader.
    "patch-everything": ("blank", "import sys\nfor name, module in list(sys.modules.items()):\n"
                                  "    if name.startswith(('autograder', 'course')) and module is not None:\n"
                                  "        for attr in list(vars(module)):\n"
                                  "            if callable(getattr(module, attr)):\n"
                                  "                setattr(module, attr, lambda *a, **k: 1.0)"),
    # The real PyTorch, fetched past the stand-in.
    "real-torch": ("blank", "import sys\nsys.meta_path[:] = [f for f in sys.meta_path if 'no_torch' not in type(f).__module__]\n"
                            "for name in [m for m in sys.modules if m.startswith('torch')]:\n    del sys.modules[name]\n"
                            "import torch\nx = torch.zeros(2) + 1"),
    "input-transformer": ("blank", "get_ipython().input_transformers_cleanup.append(lambda lines: [])"),
    "read-source": ("blank", "import glob, json\nfor path in glob.glob('../**/source/**/*.ipynb', recursive=True) + "
                             "glob.glob('/work/**/source/**/*.ipynb', recursive=True):\n"
                             "    for cell in json.load(open(path))['cells']:\n"
                             "        if cell['cell_type'] == 'code' and 'BEGIN SOLUTION' in ''.join(cell['source']):\n"
                             "            exec(''.join(cell['source']))"),
    "write-gradebook": ("blank", "import glob\nfor path in glob.glob('../**/gradebook.db', recursive=True) + ['../../../gradebook.db']:\n"
                                 "    try:\n        open(path, 'w').write('corrupted')\n    except OSError:\n        pass"),
    "warning-on-stderr": ("reference", "import sys, warnings\nwarnings.warn('this is only a warning')\nprint('debug output', file=sys.stderr)"),
    "loop-after-solutions": ("reference", None),
}


def hostile(kind: str, source_nb: Path, release_nb: Path):
    """A notebook from a student who attacks the grader in the way `kind` names (see HOSTILE_CELLS)."""
    base, code = HOSTILE_CELLS[kind]
    nb = reference(source_nb) if base == "reference" else blank(release_nb)
    if kind == "loop-after-solutions":
        nb.cells.append(nbformat.v4.new_code_cell("while True:\n    pass"))
        return nb
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell(code))
    return nb


def tampered_tests(release_nb: Path):
    """Blank answers, with every test cell edited to print full marks, plus duplicated and deleted cells."""
    nb = blank(release_nb)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    for cell in tests:
        cell.source = f"print({cell.metadata['nbgrader'].get('points', 1)})\n{cell.metadata['nbgrader'].get('points', 1)}"
    nb.cells.append(nbformat.from_dict(dict(tests[0])))  # a duplicated test cell
    nb.cells.remove(tests[-1])  # a deleted one
    return nb


def reference_with_deleted_and_duplicated_cells(source_nb: Path):
    """The reference solutions, with every test cell deleted and one answer cell duplicated."""
    nb = reference(source_nb)
    nb.cells = [c for c in nb.cells if "check" not in c.metadata.get("tdn", {})]
    answer = next(c for c in nb.cells if c.metadata.get("tdn", {}).get("solution_of"))
    nb.cells.append(nbformat.from_dict(dict(answer)))
    return nb


# ------------------------------------------------------------------ mistakes written into the code
# Realistic slips made by editing one line of the reference, as a student's code would contain
# them. Unlike the catalogue's planted functions, these need nothing from autograder or solutions
# at run time, so they also work inside the sandbox. Each: (graded name, reference text, slip).
EDITS = {
    "a1_backprop": [
        [("affine_backward", "db = dout.sum(axis=0)", "db = dout.sum(axis=1)"),
         ("softmax_loss", "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x"),
         ("tanh_backward", "dx = dout * (1 - out**2)", "dx = dout * (1 - out)")],
        [("affine_backward", "dx = (dout @ w.T).reshape(x.shape)", "dx = dout @ w.T"),
         ("relu_backward", "dx = dout * (x > 0)", "dx = dout * (dout > 0)")],
    ],
    "a2_optimizers": [
        [("sgd_momentum", 'config["velocity"] = v', "pass"),
         ("adam", 'step_size = config["lr"] / (1 - b1**t)', 'step_size = config["lr"]'),
         ("clip_grad_norm", "if coef >= 1:", "if False:")],
        [("rmsprop", "np.sqrt(cache) + config[\"eps\"]", "np.sqrt(cache + config[\"eps\"])"),
         ("clip_grad_value", "np.clip(g, -clip, clip)", "np.minimum(g, clip)")],
    ],
    "a3_normalization": [
        [("batchnorm_forward", "var = np.mean(xc**2, axis=0)", "var = np.var(x, axis=0, ddof=1)")],
        [("batchnorm_forward", "momentum * var * N / (N - 1)", "momentum * var")],
    ],
    "a4_regularization": [
        [("dropout_forward", "scale = 1 / (1 - p) if p < 1 else 0.0", "scale = 1.0")],
        [("dropout_forward", "mask = rng.random(x.shape) >= p", "mask = rng.random(x.shape) < p")],
    ],
}


def with_edits(source_nb: Path, edits: list[tuple[str, str, str]]):
    """The reference notebook with each (name, text, slip) edit made in the cell that defines name."""
    nb = reference(source_nb)
    for name, old, new in edits:
        cell = next((c for c in nb.cells if name in c.metadata.get("tdn", {}).get("solution_of", [])), None)
        if cell is None or old not in cell.source:
            raise ValueError(f"{source_nb}: cannot make the edit {old!r} -> {new!r} in {name}")
        cell.source = cell.source.replace(old, new, 1)
    return nb
