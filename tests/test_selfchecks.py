"""The visible self-checks of the assignments judge code the way the hidden tests do.

Each self-check cell runs in a fresh namespace built like a student's kernel: the notebook's setup
cell, its provided cells and its solution cells, in notebook order. The solution cells hold the
reference; a case then redefines some functions. Three kinds of case:

- the reference itself: every self-check passes;
- correct code in other styles (CS231n's `config.setdefault` and `w -= lr * dw`, velocities and
  running statistics updated in place, a boolean dropout mask, a closed-form backward pass): every
  self-check passes, since the course's in-place rule allows all of them;
- known mistakes: the self-check fails, and its message names the mistake.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import linecache
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "assignments" / "source"
ASSIGNMENTS = ("a1_backprop", "a2_optimizers", "a3_normalization", "a4_regularization")
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
_cell_names = itertools.count()


def grade_id(cell) -> str:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def is_solution_cell(cell) -> bool:
    return bool(cell.get("metadata", {}).get("tdn", {}).get("solution_of"))


def reference_source(cell) -> str:
    """A solution cell of the source notebook as the reference wrote it: the markers removed."""
    return "\n".join(line for line in cell.source.splitlines() if line.strip() not in MARKERS)


@lru_cache(maxsize=None)
def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(SOURCE / assignment / f"{assignment}.ipynb", as_version=4)


def selfcheck_ids(assignment: str) -> list[str]:
    return [grade_id(c) for c in source_notebook(assignment).cells if grade_id(c).startswith("selfcheck_")]


def run_code(source: str, namespace: dict) -> None:
    """Execute a cell's code as IPython would, with its source findable by `inspect` (which
    `course.selfcheck.assert_implemented` reads to tell a stub from an implementation)."""
    filename = f"<cell-{next(_cell_names)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


def namespace(assignment: str, redefine: str = "") -> dict:
    """A kernel's namespace after the setup, provided and (reference) solution cells, and then
    the code `redefine`, which replaces some of the functions."""
    nb = source_notebook(assignment)
    ns = {"__name__": "__main__"}
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    setup = code_cells[0]
    run_code("\n".join(line for line in setup.source.splitlines() if not line.startswith("%")), ns)
    for cell in code_cells[1:]:
        if is_solution_cell(cell):
            run_code(reference_source(cell), ns)
        elif grade_id(cell).startswith("provided_"):
            with contextlib.redirect_stdout(io.StringIO()):
                run_code(cell.source, ns)
    if redefine:
        run_code(textwrap.dedent(redefine), ns)
    return ns


def run_selfcheck(assignment: str, check: str, redefine: str = "") -> str:
    """Run one self-check cell; returns what it printed, raises what it raised."""
    cell = next(c for c in source_notebook(assignment).cells if grade_id(c) == check)
    ns = namespace(assignment, redefine)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_code(cell.source, ns)
    return out.getvalue()


def reference_with(assignment: str, name: str, *replacements: tuple[str, str]) -> str:
    """The reference definition of `name` from the source notebook, with text replaced: a
    realistic mistake in a long function (FullyConnectedNet) without copying all of it."""
    cell = next(c for c in source_notebook(assignment).cells
                if c.metadata.get("tdn", {}).get("solution_of") == [name])
    source = reference_source(cell)
    for old, new in replacements:
        assert source.count(old) == 1, f"{old!r} is not in the reference {name} exactly once"
        source = source.replace(old, new)
    return source


# ------------------------------------------------------------------ the reference passes

@pytest.mark.parametrize("assignment, check", [
    pytest.param(a, c, id=f"{a}/{c}") for a in ASSIGNMENTS for c in selfcheck_ids(a)
])
def test_every_selfcheck_passes_on_the_reference(assignment, check):
    printed = run_selfcheck(assignment, check)
    assert "ok:" in printed


def test_every_assignment_has_selfchecks():
    assert all(len(selfcheck_ids(a)) >= 4 for a in ASSIGNMENTS)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_selfcheck_says_what_it_checks_and_names_missing_functions_first(assignment):
    """nbgrader validate prints a failing cell's source: its first line should say what it checks,
    and a stub should be named as one, not surface as a traceback from deep inside a check."""
    for cell in source_notebook(assignment).cells:
        if grade_id(cell).startswith("selfcheck_"):
            lines = cell.source.splitlines()
            code = [line for line in lines if line.strip() and not line.startswith(("#", "import "))]
            assert lines[0].startswith("# Self-checks for "), f"{grade_id(cell)}: {lines[0]!r}"
            assert code[0].startswith("assert_implemented("), f"{grade_id(cell)}: {code[0]!r}"


RULE_HEADING = "**What your functions may change in place.**"


def test_the_in_place_rule_is_stated_once_in_every_introduction_and_the_same_everywhere():
    statements = {}
    for assignment in ASSIGNMENTS:
        cells = source_notebook(assignment).cells
        assert [i for i, c in enumerate(cells) if RULE_HEADING in c.source] == [0], assignment
        intro = cells[0].source
        statements[assignment] = intro[intro.index(RULE_HEADING):].split("\n\n")[0:2]
    assert len({tuple(s) for s in statements.values()}) == 1, "the notebooks state the in-place rule differently"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_notebook_is_committed_without_outputs(assignment):
    dirty = [i for i, c in enumerate(source_notebook(assignment).cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert dirty == []


# ------------------------------------------------------------------ correct code in other styles passes

@dataclass(frozen=True)
class Case:
    assignment: str
    check: str
    description: str
    code: str
    message: tuple[str, ...] = ()  # for a mistake: what the failure must say

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.check}: {self.description}"


ALTERNATIVES = [
    Case("a1_backprop", "selfcheck_affine_forward", "np.dot on an explicitly sized reshape", """
        def affine_forward(x, w, b):
            return np.dot(x.reshape(len(x), int(np.prod(x.shape[1:]))), w) + b, (x, w)
    """),
    Case("a1_backprop", "selfcheck_relu_forward", "writes zeros into its own copy", """
        def relu_forward(x):
            out = x.copy()
            out[out < 0] = 0
            return out, x
    """),
    Case("a1_backprop", "selfcheck_relu_backward", "writes zeros into a copy of dout", """
        def relu_backward(dout, cache):
            dx = dout.copy()
            dx[cache <= 0] = 0
            return dx
    """),
    Case("a1_backprop", "selfcheck_sigmoid_forward", "log-sum-exp form", """
        def sigmoid_forward(x):
            out = np.exp(-np.logaddexp(0.0, -x))
            return out, out
    """),
    Case("a1_backprop", "selfcheck_softmax_loss", "probabilities, then dx = probs - one-hot, divided in place", """
        def softmax_loss(x, y):
            N = len(x)
            shifted = x - np.max(x, axis=1, keepdims=True)
            sums = np.sum(np.exp(shifted), axis=1)
            loss = np.mean(np.log(sums) - shifted[np.arange(N), y])
            dx = np.exp(shifted) / sums[:, None]
            dx[np.arange(N), y] -= 1
            dx /= N
            return loss, dx
    """),
    Case("a2_optimizers", "selfcheck_kaiming_normal", "rng.normal with a scale", """
        def kaiming_normal(shape, gain=np.sqrt(2.0), rng=None):
            return rng.normal(0.0, gain / np.sqrt(shape[0]), size=shape)
    """),
    Case("a2_optimizers", "selfcheck_orthogonal", "polar factor from the SVD", """
        def orthogonal(shape, gain=1.0, rng=None):
            u, _, vt = np.linalg.svd(rng.standard_normal(shape), full_matrices=False)
            return gain * u @ vt
    """),
    Case("a2_optimizers", "selfcheck_sgd", "CS231n style: setdefault on the given config, dw and w changed in place", """
        def sgd(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("lr", 1e-3)
            config.setdefault("weight_decay", 0.0)
            dw += config["weight_decay"] * w
            w -= config["lr"] * dw
            return w, config
    """),
    Case("a2_optimizers", "selfcheck_sgd_momentum", "velocity updated in place with v *= momentum", """
        def sgd_momentum(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("lr", 1e-3)
            config.setdefault("momentum", 0.9)
            config.setdefault("weight_decay", 0.0)
            v = config.setdefault("velocity", np.zeros_like(w))
            v *= config["momentum"]
            v += dw + config["weight_decay"] * w
            w -= config["lr"] * v
            return w, config
    """),
    Case("a2_optimizers", "selfcheck_sgd_momentum", "CS231n's form, v = momentum * v - lr * g; w += v", """
        def sgd_momentum(w, dw, config=None):
            config = {} if config is None else config
            config.setdefault("lr", 1e-3)
            config.setdefault("momentum", 0.9)
            config.setdefault("weight_decay", 0.0)
            v = config.get("velocity", np.zeros_like(w))
            v = config["momentum"] * v - config["lr"] * (dw + config["weight_decay"] * w)
            config["velocity"] = v
            return w + v, config
    """),
    Case("a2_optimizers", "selfcheck_nesterov", "velocity updated in place", """
        def nesterov(w, dw, config=None):
            config = {} if config is None else config
            for key, default in (("lr", 1e-3), ("momentum", 0.9), ("weight_decay", 0.0)):
                config.setdefault(key, default)
            g = dw + config["weight_decay"] * w
            v = config.setdefault("velocity", np.zeros_like(w))
            v *= config["momentum"]
            v += g
            w -= config["lr"] * (g + config["momentum"] * v)
            return w, config
    """),
    Case("a2_optimizers", "selfcheck_adagrad", "cache += g * g in place", """
        def adagrad(w, dw, config=None):
            config = {} if config is None else config
            for key, default in (("lr", 1e-2), ("eps", 1e-10), ("weight_decay", 0.0), ("initial_accumulator_value", 0.0)):
                config.setdefault(key, default)
            g = dw + config["weight_decay"] * w
            cache = config.setdefault("cache", np.full_like(w, config["initial_accumulator_value"]))
            cache += g * g
            w -= config["lr"] * g / (np.sqrt(cache) + config["eps"])
            return w, config
    """),
    Case("a2_optimizers", "selfcheck_rmsprop", "cache *= alpha in place", """
        def rmsprop(w, dw, config=None):
            config = {} if config is None else config
            for key, default in (("lr", 1e-2), ("alpha", 0.99), ("eps", 1e-8), ("weight_decay", 0.0)):
                config.setdefault(key, default)
            g = dw + config["weight_decay"] * w
            cache = config.setdefault("cache", np.zeros_like(w))
            cache *= config["alpha"]
            cache += (1 - config["alpha"]) * g * g
            w -= config["lr"] * g / (np.sqrt(cache) + config["eps"])
            return w, config
    """),
    Case("a2_optimizers", "selfcheck_adam", "CS231n style: m_hat and v_hat, state updated in place", """
        def adam(w, dw, config=None):
            if config is None:
                config = {}
            config.setdefault("lr", 1e-3)
            config.setdefault("betas", (0.9, 0.999))
            config.setdefault("eps", 1e-8)
            config.setdefault("weight_decay", 0.0)
            m = config.setdefault("m", np.zeros_like(w))
            v = config.setdefault("v", np.zeros_like(w))
            config["t"] = config.get("t", 0) + 1
            b1, b2 = config["betas"]
            g = dw + config["weight_decay"] * w
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1 ** config["t"])
            v_hat = v / (1 - b2 ** config["t"])
            w -= config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"])
            return w, config
    """),
    Case("a2_optimizers", "selfcheck_clip_grad_norm", "clips the given arrays in place, like clip_grad_norm_", """
        def clip_grad_norm(grads, max_norm):
            total = np.sqrt(sum(np.sum(g * g) for g in grads.values()))
            coef = max_norm / (total + 1e-6)
            if coef < 1:
                for g in grads.values():
                    g *= coef
            return grads
    """),
    Case("a2_optimizers", "selfcheck_clip_grad_value", "np.clip(..., out=g) on the given arrays", """
        def clip_grad_value(grads, clip):
            for g in grads.values():
                np.clip(g, -clip, clip, out=g)
            return grads
    """),
    Case("a3_normalization", "selfcheck_batchnorm_forward", "running statistics updated in place, defaults by setdefault", """
        def batchnorm_forward(x, gamma, beta, bn_param):
            N, D = x.shape
            eps, momentum = bn_param.setdefault("eps", 1e-5), bn_param.setdefault("momentum", 0.1)
            running_mean = bn_param.setdefault("running_mean", np.zeros(D))
            running_var = bn_param.setdefault("running_var", np.ones(D))
            if bn_param["mode"] == "test":
                return gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta, None
            mean, var = x.mean(axis=0), x.var(axis=0)
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * N / (N - 1)
            xc = x - mean
            std = np.sqrt(var + eps)
            xhat = xc / std
            return gamma * xhat + beta, (xhat, xc, std, gamma)
    """),
    Case("a3_normalization", "selfcheck_batchnorm_backward", "the closed form in the graph form's place", """
        def batchnorm_backward(dout, cache):
            xhat, _, std, gamma = cache
            dxhat = dout * gamma
            dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std
            return dx, np.sum(dout * xhat, axis=0), dout.sum(axis=0)
    """),
    Case("a3_normalization", "selfcheck_batchnorm_backward_alt", "a correct closed form while the graph form is wrong", """
        def batchnorm_backward(dout, cache):
            xhat, _, std, gamma = cache
            return dout * gamma / std, np.sum(dout * xhat, axis=0), dout.sum(axis=0)
    """),
    Case("a3_normalization", "selfcheck_FullyConnectedNet", "batchnorm with running statistics updated in place", """
        def batchnorm_forward(x, gamma, beta, bn_param):
            N, D = x.shape
            eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
            bn_param.setdefault("running_mean", np.zeros(D))
            bn_param.setdefault("running_var", np.ones(D))
            if bn_param["mode"] == "test":
                return gamma * (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + eps) + beta, None
            mean, var = x.mean(axis=0), x.var(axis=0)
            bn_param["running_mean"] *= 1 - momentum
            bn_param["running_mean"] += momentum * mean
            bn_param["running_var"] *= 1 - momentum
            bn_param["running_var"] += momentum * var * N / (N - 1)
            std = np.sqrt(var + eps)
            return gamma * (x - mean) / std + beta, ((x - mean) / std, x - mean, std, gamma)
    """),
    Case("a4_regularization", "selfcheck_dropout_forward", "a boolean mask drawn as r < 1 - p, applied with np.where", """
        def dropout_forward(x, dropout_param):
            p = dropout_param["p"]
            if dropout_param["mode"] == "test":
                return x, (None, p)
            keep = np.random.default_rng(dropout_param.get("seed")).random(x.shape) < 1 - p
            return (np.where(keep, x / (1 - p), 0.0) if p < 1 else np.zeros_like(x)), (keep, p)


        def dropout_backward(dout, cache):
            keep, p = cache
            if keep is None:
                return dout
            return np.where(keep, dout / (1 - p), 0.0) if p < 1 else np.zeros_like(dout)
    """),
]
# The same boolean-mask dropout must pass the backward and the network checks too.
ALTERNATIVES += [Case("a4_regularization", check, ALTERNATIVES[-1].description, ALTERNATIVES[-1].code)
                 for check in ("selfcheck_dropout_backward", "selfcheck_fully_connected_net")]


@pytest.mark.parametrize("case", ALTERNATIVES, ids=[c.id for c in ALTERNATIVES])
def test_correct_code_in_another_style_passes(case):
    printed = run_selfcheck(case.assignment, case.check, case.code)
    assert "ok:" in printed


# ------------------------------------------------------------------ known mistakes fail, and are named

MISTAKES = [
    Case("a1_backprop", "selfcheck_affine_forward", "a stub", """
        def affine_forward(x, w, b):
            \"\"\"Left as released.\"\"\"
            # YOUR CODE HERE
            raise NotImplementedError()
    """, ("not implemented yet: affine_forward",)),
    Case("a1_backprop", "selfcheck_affine_forward", "no bias", """
        def affine_forward(x, w, b):
            return x.reshape(len(x), -1) @ w, (x, w)
    """, ("the bias b is missing",)),
    Case("a1_backprop", "selfcheck_affine_backward", "db is a mean", """
        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.mean(axis=0)
    """, ("db (against PyTorch autograd)", "every entry is 0.333 times the expected value", "sums over the batch")),
    Case("a1_backprop", "selfcheck_affine_backward", "dw transposed", """
        def affine_backward(dout, cache):
            x, w = cache
            return (dout @ w.T).reshape(x.shape), dout.T @ x.reshape(len(x), -1), dout.sum(axis=0)
    """, ("dw (against PyTorch autograd) has shape (5, 4), the transpose of the expected (4, 5)",)),
    Case("a1_backprop", "selfcheck_relu_forward", "zeros written into x", """
        def relu_forward(x):
            x[x < 0] = 0
            return x, x
    """, ("relu_forward changed x in place", "np.maximum")),
    Case("a1_backprop", "selfcheck_relu_backward", "the forward pass writes zeros into x", """
        def relu_forward(x):
            x[x < 0] = 0
            return x, x
    """, ("relu_forward changed x in place",)),
    Case("a1_backprop", "selfcheck_relu_backward", "zeros written into dout", """
        def relu_backward(dout, cache):
            dout[cache <= 0] = 0
            return dout
    """, ("relu_backward changed dout in place",)),
    Case("a1_backprop", "selfcheck_relu_backward", "the mask from dout", """
        def relu_backward(dout, cache):
            return dout * (dout > 0)
    """, ("not from dout",)),
    Case("a1_backprop", "selfcheck_leaky_relu_forward", "the slopes swapped", """
        def leaky_relu_forward(x, alpha=0.01):
            return np.where(x > 0, alpha * x, x), (x, alpha)
    """, ("alpha scales the negative inputs",)),
    Case("a1_backprop", "selfcheck_softmax_loss", "a sum over the batch, not a mean", """
        def softmax_loss(x, y):
            shifted = x - x.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            dx = np.exp(log_probs)
            dx[np.arange(len(x)), y] -= 1
            return -log_probs[np.arange(len(x)), y].sum(), dx
    """, ("loss for scores of standard deviation 1, N = 5 is", "5.00 times the expected value: did you forget to divide by N (= 5)?")),
    Case("a1_backprop", "selfcheck_softmax_loss", "dx without the 1/N", """
        def softmax_loss(x, y):
            shifted = x - x.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            dx = np.exp(log_probs)
            dx[np.arange(len(x)), y] -= 1
            return -log_probs[np.arange(len(x)), y].mean(), dx
    """, ("dx for scores of standard deviation 1, N = 5 differs",
          "every entry is 5.00 times the expected value: did you forget to divide by N (= 5)?")),
    Case("a1_backprop", "selfcheck_softmax_loss", "no shift by the row maximum", """
        def softmax_loss(x, y):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
                dx = p.copy()
                dx[np.arange(len(x)), y] -= 1
                return -np.log(p[np.arange(len(x)), y]).mean(), dx / len(x)
    """, ("scores of standard deviation 1e4", "subtract each row's maximum")),
    Case("a1_backprop", "selfcheck_mse_loss", "a mean over the rows only", """
        def mse_loss(x, y):
            return np.sum((x - y) ** 2) / len(x), 2 * (x - y) / len(x)
    """, ("3.00 times the expected value", "divided by N = 5 rather than by x.size = 15")),
    Case("a1_backprop", "selfcheck_TwoLayerNet", "L2 on the biases too", """
        _loss = TwoLayerNet.loss
        def loss(self, X, y=None):
            result = _loss(self, X, y)
            if y is None:
                return result
            value, grads = result
            return value + 0.5 * self.reg * (np.sum(self.params["b1"] ** 2) + np.sum(self.params["b2"] ** 2)), grads
        TwoLayerNet.loss = loss
    """, ("loss with reg = 0.3", "also penalizes the biases")),
    Case("a1_backprop", "selfcheck_FullyConnectedNet", "He's std from fan_out", reference_with(
        "a1_backprop", "FullyConnectedNet",
        ("W = np.sqrt(2.0 / shape[0]) * rng.standard_normal(shape)", "W = np.sqrt(2.0 / shape[1]) * rng.standard_normal(shape)"),
    ), ("the std of W1, shape (500, 300) is 0.08", "expected 0.063", "sqrt(2 / fan_out)", "fan_in is shape[0]")),
    Case("a2_optimizers", "selfcheck_kaiming_normal", "fan_in taken from shape[1]", """
        def kaiming_normal(shape, gain=np.sqrt(2.0), rng=None):
            return gain / np.sqrt(shape[1]) * rng.standard_normal(shape)
    """, ("the std of kaiming_normal((400, 100)) is 0.14", "expected 0.071", "fan_in is shape[0]")),
    Case("a2_optimizers", "selfcheck_kaiming_uniform", "the std used as the bound", """
        def kaiming_uniform(shape, gain=np.sqrt(2.0), rng=None):
            bound = gain / np.sqrt(shape[0])
            return rng.uniform(-bound, bound, size=shape)
    """, ("the std was used as the bound",)),
    Case("a2_optimizers", "selfcheck_xavier_normal", "LeCun's fan_in only", """
        def xavier_normal(shape, gain=1.0, rng=None):
            return gain / np.sqrt(shape[0]) * rng.standard_normal(shape)
    """, ("LeCun's rule",)),
    Case("a2_optimizers", "selfcheck_sgd", "a step uphill", """
        def sgd(w, dw, config=None):
            config = dict(config or {})
            config.setdefault("lr", 1e-3)
            config.setdefault("weight_decay", 0.0)
            return w + config["lr"] * (dw + config["weight_decay"] * w), config
    """, ("the opposite sign",)),
    Case("a2_optimizers", "selfcheck_sgd_momentum", "a dampening factor", reference_with(
        "a2_optimizers", "sgd_momentum", ('v = config["momentum"] * v + g', 'v = config["momentum"] * v + (1 - config["momentum"]) * g'),
    ), ("after step 1", "too small by (1 - momentum) = 0.1", "dampening")),
    Case("a2_optimizers", "selfcheck_sgd_momentum", "the velocity never stored", reference_with(
        "a2_optimizers", "sgd_momentum", ('    config["velocity"] = v\n', ""),
    ), ("after step 2", "step 1 matched")),
    Case("a2_optimizers", "selfcheck_nesterov", "plain momentum's step", reference_with(
        "a2_optimizers", "nesterov", ('next_w = w - config["lr"] * (g + config["momentum"] * v)', 'next_w = w - config["lr"] * v'),
    ), ("after step 1", "0.526 times the expected value", "plain momentum's first step")),
    Case("a2_optimizers", "selfcheck_adagrad", "eps inside the square root", reference_with(
        "a2_optimizers", "adagrad", ('np.sqrt(cache) + config["eps"]', 'np.sqrt(cache + config["eps"])'),
    ), ("column 0", "check where eps goes")),
    Case("a2_optimizers", "selfcheck_rmsprop", "no (1 - alpha) on g**2", reference_with(
        "a2_optimizers", "rmsprop", ('(1 - config["alpha"]) * g**2', "g**2"),
    ), ("after step 1", "in the columns with ordinary gradients", "too small by sqrt(1 - alpha)")),
    Case("a2_optimizers", "selfcheck_adam", "m not bias-corrected", reference_with(
        "a2_optimizers", "adam", ('step_size = config["lr"] / (1 - b1**t)', 'step_size = config["lr"]'),
    ), ("w after Adam's first step", "0.10 times the expected value", "too small by (1 - beta1) = 0.1",
        "bias correction of m")),
    Case("a2_optimizers", "selfcheck_adam", "v not bias-corrected", reference_with(
        "a2_optimizers", "adam", ("np.sqrt(v) / np.sqrt(1 - b2**t)", "np.sqrt(v)"),
    ), ("w after Adam's first step", "too large by 1 / sqrt(1 - beta2) = 31.6", "bias correction of v")),
    Case("a2_optimizers", "selfcheck_adam", "t incremented after use", reference_with(
        "a2_optimizers", "adam", ('t = config.get("t", 0) + 1', 't = config.get("t", 0)'), ("config.update(m=m, v=v, t=t)", "config.update(m=m, v=v, t=t + 1)"),
    ), ("adam divided by zero on its first step", "increment t before using it")),
    Case("a2_optimizers", "selfcheck_adamw", "the decay without the learning rate", reference_with(
        "a2_optimizers", "adamw", ('w = w * (1 - config["lr"] * config["weight_decay"])', 'w = w * (1 - config["weight_decay"])'),
    ), ("adamw (defaults): w - w0 after step 1 differs",)),
    Case("a2_optimizers", "selfcheck_clip_grad_norm", "each array clipped by its own norm", """
        def clip_grad_norm(grads, max_norm):
            return {k: g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for k, g in grads.items()}
    """, ("each array was clipped by its own norm",)),
    Case("a2_optimizers", "selfcheck_clip_grad_norm", "rescaled even below max_norm", """
        def clip_grad_norm(grads, max_norm):
            total = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
            return {k: g * max_norm / (total + 1e-6) for k, g in grads.items()}
    """, ("max_norm=100", "below max_norm")),
    Case("a2_optimizers", "selfcheck_clip_grad_value", "only the positive side", """
        def clip_grad_value(grads, clip):
            return {k: np.minimum(g, clip) for k, g in grads.items()}
    """, ("only the positive side is bounded",)),
    Case("a3_normalization", "selfcheck_from_earlier_assignments", "adam still a stub", """
        def adam(w, dw, config=None):
            raise NotImplementedError()
        def relu_backward(dout, cache):
            raise NotImplementedError()
    """, ("not implemented yet: relu_backward, adam",)),
    Case("a3_normalization", "selfcheck_batchnorm_forward", "x centred in place", reference_with(
        "a3_normalization", "batchnorm_forward", ("        xc = x - mean\n", "        xc = x\n        xc -= mean\n"),
    ), ("batchnorm_forward changed x in place",)),
    Case("a3_normalization", "selfcheck_batchnorm_forward", "CS231n's momentum", reference_with(
        "a3_normalization", "batchnorm_forward",
        ('bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean',
         'bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean'),
        ('bn_param["running_var"] = (1 - momentum) * running_var + momentum * var * N / (N - 1)',
         'bn_param["running_var"] = momentum * running_var + (1 - momentum) * var * N / (N - 1)'),
    ), ("running_mean after two steps", "weight of the NEW batch statistic")),
    Case("a3_normalization", "selfcheck_batchnorm_forward", "the biased variance in the running statistic", reference_with(
        "a3_normalization", "batchnorm_forward", ("momentum * var * N / (N - 1)", "momentum * var"),
    ), ("running_var after two steps", "UNBIASED batch variance")),
    Case("a3_normalization", "selfcheck_batchnorm_forward", "normalized with the unbiased variance", reference_with(
        "a3_normalization", "batchnorm_forward", ("var = np.mean(xc**2, axis=0)", "var = np.sum(xc**2, axis=0) / (N - 1)"),
        ("momentum * var * N / (N - 1)", "momentum * var"),
    ), ("the std of each column of out", "BIASED batch variance")),
    Case("a3_normalization", "selfcheck_batchnorm_backward", "the statistics treated as constants", """
        def batchnorm_backward(dout, cache):
            xhat, _, std, gamma = cache
            return dout * gamma / std, np.sum(dout * xhat, axis=0), dout.sum(axis=0)
    """, ("dx (against PyTorch autograd)", "treats the batch mean and variance as constants")),
    Case("a3_normalization", "selfcheck_batchnorm_backward_alt", "a term missing", """
        def batchnorm_backward_alt(dout, cache):
            xhat, _, std, gamma = cache
            dxhat = dout * gamma
            return (dxhat - dxhat.mean(axis=0)) / std, np.sum(dout * xhat, axis=0), dout.sum(axis=0)
    """, ("dx (against PyTorch autograd) differs",)),
    Case("a3_normalization", "selfcheck_layernorm_backward", "dgamma summed over the features", reference_with(
        "a3_normalization", "layernorm_backward", ("dgamma = np.sum(dout * xhat, axis=0)", "dgamma = np.sum(dout * xhat, axis=1)"),
    ), ("dgamma (against PyTorch autograd) has shape (5,), expected (7,)", "sum over the batch (axis=0)")),
    Case("a4_regularization", "selfcheck_dropout_forward", "no 1/(1 - p)", reference_with(
        "a4_regularization", "dropout_forward", ("scale = 1 / (1 - p) if p < 1 else 0.0", "scale = 1.0 if p < 1 else 0.0"),
    ), ("out at the kept units (p=0.25)", "0.75 times the expected value", "not rescaled")),
    Case("a4_regularization", "selfcheck_dropout_forward", "p read as the keep probability", reference_with(
        "a4_regularization", "dropout_forward", ("mask = rng.random(x.shape) >= p", "mask = rng.random(x.shape) < p"),
    ), ("p=0.25: you kept 0.2", "expected about 1 - p = 0.75", "p is the probability of DROPPING a unit")),
    Case("a4_regularization", "selfcheck_dropout_backward", "no 1/(1 - p) going back", reference_with(
        "a4_regularization", "dropout_backward", ("dx = dout * mask * scale", "dx = dout * mask"),
    ), ("dx (against PyTorch, with your mask)", "0.60 times the expected value", "1/(1 - p) scale")),
    Case("a4_regularization", "selfcheck_fully_connected_net", "L2 on the biases too", reference_with(
        "a4_regularization", "FullyConnectedNet",
        ("            loss += 0.5 * self.reg * np.sum(W**2)\n",
         "            loss += 0.5 * self.reg * (np.sum(W**2) + np.sum(self.params[f\"b{i}\"] ** 2))\n"),
    ), ("the L2 term", "also penalizes the biases")),
    Case("a4_regularization", "selfcheck_fully_connected_net", "dropout left on in test mode", reference_with(
        "a4_regularization", "FullyConnectedNet", ('self.dropout_param["mode"] = mode', 'self.dropout_param["mode"] = "train"'),
    ), ("scores (y=None) of a network with dropout=0.5", "switch dropout off")),
]


@pytest.mark.parametrize("case", MISTAKES, ids=[c.id for c in MISTAKES])
def test_a_known_mistake_fails_with_a_message_that_names_it(case):
    with pytest.raises((AssertionError, NotImplementedError)) as failure:
        run_selfcheck(case.assignment, case.check, case.code)
    message = " ".join(str(failure.value).split())  # the messages are wrapped for nbgrader validate
    for part in case.message:
        assert part in message, f"{part!r} is not in the message:\n{message}"
