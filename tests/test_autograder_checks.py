"""The hidden checks, run directly (without a notebook): reference, mistakes, alternatives, hostility."""
import json
import sys
import warnings

import numpy as np
import pytest

from autograder.grading import judge
from autograder.grading.judge import check_namespace as check, reference_namespace
from autograder.grading.runs import Run, read_run
from autograder.runtime import wire
from autograder.spec import registry
from autograder.spec.checks import load_all
from autograder.spec.mistakes import CATALOGUE

REFERENCE = reference_namespace()
ALL_CHECKS = [item.check_id for items in registry.ASSIGNMENTS.values() for item in items]


@pytest.mark.parametrize("check_id", ALL_CHECKS)
def test_the_reference_earns_full_marks(check_id):
    report = check(check_id, REFERENCE)
    assert report.score == report.points, report.feedback()


def test_every_graded_item_has_a_check_a_driver_and_points():
    from autograder.runtime.drivers import load_all as drivers

    checks = load_all()
    assert set(ALL_CHECKS) <= set(checks)
    assert {checks[c].driver_name for c in ALL_CHECKS} <= set(drivers())
    assert all(item.points > 0 for items in registry.ASSIGNMENTS.values() for item in items)


def test_the_catalogue_is_large_and_covers_every_assignment():
    assert len(CATALOGUE) >= 30
    assert len({m.slug + m.check for m in CATALOGUE}) == len(CATALOGUE)
    checks_with_mistakes = {m.check for m in CATALOGUE}
    for assignment, items in registry.ASSIGNMENTS.items():
        assert checks_with_mistakes & {i.check_id for i in items}, assignment


@pytest.mark.parametrize("mistake", CATALOGUE, ids=lambda m: f"{m.check}:{m.slug}")
def test_every_known_mistake_loses_points_and_gets_its_hint(mistake):
    report = check(mistake.check, {**REFERENCE, **mistake.replace})
    assert report.score < report.points
    assert mistake.hint in report.hints, report.feedback()


def test_a_blank_function_scores_zero_and_says_it_is_not_implemented():
    def affine_forward(x, w, b):
        raise NotImplementedError

    report = check("affine_forward", {**REFERENCE, "affine_forward": affine_forward})
    assert report.score == 0
    assert "not implemented" in report.feedback()


def test_a_missing_definition_is_named():
    namespace = {k: v for k, v in REFERENCE.items() if k != "affine_forward"}
    report = check("affine_backward", namespace)
    assert report.score == 0 and "affine_forward is not defined" in report.feedback()


# ------------------------------------------------------------------ valid alternatives get full marks

def relu_forward_where(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward_masked(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx


def affine_forward_einsum(x, w, b):
    return np.einsum("nd,dm->nm", x.reshape(len(x), -1), w) + b, (x, w, b)


def affine_backward_einsum(dout, cache):
    x, w, _ = cache
    rows = x.reshape(len(x), -1)
    return np.einsum("nm,dm->nd", dout, w).reshape(x.shape), np.einsum("nd,nm->dm", rows, dout), dout.sum(0)


def softmax_loss_logsumexp(x, y):
    n = len(x)
    lse = np.logaddexp.reduce(x, axis=1)
    loss = np.mean(lse - x[np.arange(n), y])
    probs = np.exp(x - lse[:, None])
    onehot = np.eye(x.shape[1])[y]
    return loss, (probs - onehot) / n


def batchnorm_backward_another_form(dout, cache):
    # Written from the variance formula instead of the graph: still exact.
    xhat, xc, std, gamma = cache
    n = len(dout)
    dxhat = dout * gamma
    dvar = np.sum(dxhat * xc, axis=0) * -0.5 / std**3
    dmean = np.sum(-dxhat / std, axis=0) + dvar * np.mean(-2 * xc, axis=0)
    dx = dxhat / std + dvar * 2 * xc / n + dmean / n
    return dx, np.sum(dout * xhat, axis=0), dout.sum(0)


def dropout_forward_binomial(x, dropout_param):
    p = dropout_param["p"]
    if dropout_param["mode"] == "test":
        return x, None
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = rng.binomial(1, 1 - p, size=x.shape) / (1 - p) if p < 1 else np.zeros_like(x)
    return x * mask, mask


def dropout_backward_binomial(dout, cache):
    return dout if cache is None else dout * cache


def sgd_momentum_cs231n_form(w, dw, config=None):
    # v = mu v - lr g; w += v: the same trajectory as torch's form for a constant learning rate.
    config = dict(config or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("momentum", 0.9)
    g = dw + config.get("weight_decay", 0) * w
    v = config["momentum"] * config.get("v_neg", np.zeros_like(w)) - config["lr"] * g
    config["v_neg"] = v
    return w + v, config


def adam_textbook(w, dw, config=None):
    config = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, **(config or {})}
    b1, b2 = config["betas"]
    g = dw + config["weight_decay"] * w
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", 0) + (1 - b1) * g
    v = b2 * config.get("v", 0) + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    config.update(t=t, m=m, v=v)
    return w - config["lr"] * m_hat / (np.sqrt(v_hat) + config["eps"]), config


def kaiming_normal_via_normal(shape, gain=np.sqrt(2.0), rng=None):
    return rng.normal(0.0, gain / np.sqrt(shape[0]), size=shape)


def orthogonal_via_svd(shape, gain=1.0, rng=None):
    u, _, vt = np.linalg.svd(rng.standard_normal(shape), full_matrices=False)
    return gain * (u @ vt)


ALTERNATIVES = [
    ("relu_forward", {"relu_forward": relu_forward_where}),
    ("relu_backward", {"relu_forward": relu_forward_where, "relu_backward": relu_backward_masked}),
    ("affine_forward", {"affine_forward": affine_forward_einsum}),
    ("affine_backward", {"affine_forward": affine_forward_einsum, "affine_backward": affine_backward_einsum}),
    ("softmax_loss", {"softmax_loss": softmax_loss_logsumexp}),
    ("batchnorm_backward", {"batchnorm_backward": batchnorm_backward_another_form}),
    ("batchnorm_backward_alt", {"batchnorm_backward_alt": batchnorm_backward_another_form}),
    ("dropout_forward", {"dropout_forward": dropout_forward_binomial}),
    ("dropout_backward", {"dropout_forward": dropout_forward_binomial, "dropout_backward": dropout_backward_binomial}),
    ("sgd_momentum", {"sgd_momentum": sgd_momentum_cs231n_form}),
    ("adam", {"adam": adam_textbook}),
    ("kaiming_normal", {"kaiming_normal": kaiming_normal_via_normal}),
    ("orthogonal", {"orthogonal": orthogonal_via_svd}),
]


@pytest.mark.parametrize("check_id, replacement", ALTERNATIVES, ids=[a[0] + ":" + next(iter(a[1].values())).__name__ for a in ALTERNATIVES])
def test_a_valid_alternative_implementation_earns_full_marks(check_id, replacement):
    report = check(check_id, {**REFERENCE, **replacement})
    assert report.score == report.points, report.feedback()


def test_a_network_built_on_another_valid_dropout_earns_full_marks():
    # As in a notebook: the class's source runs in a namespace that holds the student's layers.
    import inspect

    from solutions.models import FullyConnectedNet

    namespace = {**REFERENCE, "np": np,
                 "dropout_forward": dropout_forward_binomial, "dropout_backward": dropout_backward_binomial}
    exec(inspect.getsource(FullyConnectedNet), namespace)
    report = check("fcnet_regularization", namespace)
    assert report.score == report.points, report.feedback()


def test_a_correct_function_that_warns_and_prints_to_stderr_keeps_full_marks():
    def sigmoid_forward(x):
        out = 1 / (1 + np.exp(-x))  # overflows for large negative x: a RuntimeWarning, same values
        warnings.warn("student debugging warning")
        print("debug", file=sys.stderr)
        return out, out

    report = check("sigmoid_forward", {**REFERENCE, "sigmoid_forward": sigmoid_forward})
    assert report.score == report.points, report.feedback()


def test_modifying_an_input_in_place_costs_points_and_says_so():
    def relu_forward(x):
        np.maximum(x, 0, out=x)
        return x, x

    report = check("relu_forward", {**REFERENCE, "relu_forward": relu_forward})
    assert 0 < report.score < report.points
    assert "modified its input x in place" in report.feedback()


def test_an_endless_loop_is_stopped_per_case_and_named():
    def tanh_forward(x):
        while True:
            pass

    report = check("tanh_forward", {**REFERENCE, "tanh_forward": tanh_forward}, seconds=0.2)
    assert report.score == 0 and "took longer than 0.2 s" in report.feedback()
    assert "vectorize" in report.feedback()


def test_feedback_names_the_student_line_that_raised():
    source = "def mse_loss(x, y):\n    d = x - y\n    return (d ** 2).mean(), d @ y\n"
    namespace = dict(REFERENCE)
    exec(compile(source, "<student cell>", "exec"), namespace)
    feedback = check("mse_loss", namespace).feedback()
    assert "raised ValueError" in feedback and "(line 3 of your code)" in feedback


def test_feedback_never_shows_hidden_input_values():
    def softmax_loss(x, y):
        return 0.0, np.zeros_like(x)

    feedback = check("softmax_loss", {**REFERENCE, "softmax_loss": softmax_loss}).feedback()
    for case in load_all()["softmax_loss"].cases():
        for value in np.ravel(case.inputs["x"])[:5]:
            assert f"{value:.4g}" not in feedback


def test_a_case_counts_once_and_runs_beyond_the_case_list_earn_nothing():
    reference = judge.trusted_run(load_all()["relu_forward"], REFERENCE, load_all()["relu_forward"].cases()[0])
    cases = load_all()["relu_forward"].cases()
    # One right run, then the same run again for every other case and far beyond.
    report = judge.assess(load_all()["relu_forward"], [reference] * 200, points=1)
    assert len(report.cases) == len(cases)
    assert report.score < 1 and sum(c.passed for c in report.cases) == 1


def test_a_missing_run_is_a_failing_case():
    check_ = load_all()["relu_forward"]
    report = judge.assess(check_, [None] * len(check_.cases()), points=1)
    assert report.score == 0 and "was not run" in report.feedback()


def test_malformed_recorded_runs_are_read_as_failures_not_crashes():
    good = {"outputs": {"out": wire.encode(np.zeros((4, 5)))}, "error": None, "mutated": []}
    assert read_run(good).outputs["out"].shape == (4, 5)
    garbage = [
        "junk", 3, None, {"outputs": {"out": {"__nd__": "f8", "shape": [5, 5], "data": "AAAA"}}},
        {"outputs": {"out": {"__nd__": "f8", "shape": [10**9], "data": ""}}},
        {"outputs": {"out": {"__nd__": "O", "shape": [1], "data": "AAAAAAAAAAA="}}},
        {"outputs": {"out": {"__dict__": [["a", {"__nd__": "f8", "shape": [], "data": "AAAAAAAAAAA="}]]}}},
        {"outputs": {str(i): None for i in range(1000)}}, {"outputs": "x"},
    ]
    for data in garbage:
        run = read_run(data)
        assert isinstance(run, Run) and run.error, data
    check_ = load_all()["relu_forward"]
    report = judge.assess(check_, [read_run(g) for g in garbage[:4]], points=1)
    assert report.score == 0


def test_deeply_nested_wire_data_is_refused_not_a_recursion_error():
    nested = {"out": None}
    for _ in range(10_000):
        nested = [nested]
    with pytest.raises(wire.WireError):
        wire.decode(nested, untrusted=True)


def test_with_a_float32_oracle_the_reference_still_earns_full_marks():
    # Each comparison uses the tolerance of the precision its expected value was computed in.
    import os
    import subprocess

    code = ("from autograder.grading.judge import check_namespace, reference_namespace\n"
            f"failed = [c for c in {ALL_CHECKS!r} if (r := check_namespace(c, reference_namespace())).score < r.points]\n"
            "print(failed)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "TDN_ORACLE_DTYPE": "float32"})
    assert out.stdout.strip() == "[]", out.stderr[-2000:]


# ------------------------------------------------------------------ correct work in other styles keeps every point

def sgd_cs231n(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-3)
    config.setdefault("weight_decay", 0.0)
    w -= config["lr"] * (dw + config["weight_decay"] * w)  # in place, as CS231n's starter code does
    return w, config


def sgd_momentum_in_place_velocity(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("lr", 1e-3)
    config.setdefault("momentum", 0.9)
    config.setdefault("weight_decay", 0.0)
    g = dw + config["weight_decay"] * w
    v = config.setdefault("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v += g
    return w - config["lr"] * v, config


def batchnorm_forward_in_place_running_stats(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
    n, d = x.shape
    running_mean = bn_param.setdefault("running_mean", np.zeros(d))
    running_var = bn_param.setdefault("running_var", np.ones(d))
    if bn_param["mode"] == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        running_mean *= 1 - momentum
        running_mean += momentum * mu
        running_var *= 1 - momentum
        running_var += momentum * var * n / (n - 1)
    else:
        mu, var = running_mean, running_var
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (xhat, x - mu, np.sqrt(var + eps), gamma)


def test_cs231n_style_update_rules_and_in_place_state_keep_every_point():
    for check_id, name, fn in (("sgd", "sgd", sgd_cs231n), ("sgd_momentum", "sgd_momentum", sgd_momentum_in_place_velocity),
                               ("batchnorm_forward", "batchnorm_forward", batchnorm_forward_in_place_running_stats)):
        report = check(check_id, {**REFERENCE, name: fn})
        assert report.score == report.points, report.feedback()


def test_a_network_with_another_exact_batchnorm_backward_keeps_every_point():
    # The hidden biases' gradients are zero in exact arithmetic; both networks leave ~1e-17 of
    # rounding there, which must not be judged against its own size.
    import inspect

    from solutions.models import FullyConnectedNet

    namespace = {**REFERENCE, "np": np, "batchnorm_backward_alt": batchnorm_backward_another_form}
    exec(inspect.getsource(FullyConnectedNet), namespace)
    report = check("fcnet_normalization", namespace)
    assert report.score == report.points, report.feedback()


# ------------------------------------------------------------------ proportionate, specific, rightly blamed

def test_right_values_in_a_squeezable_shape_cost_a_stated_fraction_once():
    def affine_backward_keepdims(dout, cache):
        dx, dw, db = REFERENCE["affine_backward"](dout, cache)
        return dx, dw, db.reshape(1, -1)

    report = check("affine_backward", {**REFERENCE, "affine_backward": affine_backward_keepdims})
    assert report.score == pytest.approx(report.points * (1 - judge.SHAPE_DEDUCTION))
    assert "values right, but db has shape (1, " in report.feedback()


def test_an_in_place_forward_is_charged_to_the_forward_not_to_the_backward():
    def relu_forward(x):
        x[x < 0] = 0
        return x, x

    namespace = {**REFERENCE, "relu_forward": relu_forward}
    backward = check("relu_backward", namespace)
    assert backward.score == backward.points, backward.feedback()
    assert "your relu_forward" in backward.feedback() and "not these" in backward.feedback()
    forward = check("relu_forward", namespace)
    assert forward.score == pytest.approx(forward.points * (1 - judge.MUTATION_DEDUCTION))


def test_a_hint_is_given_only_when_the_mistake_explains_every_output_it_changes():
    def affine_backward_dw_only(dout, cache):
        dx, dw, db = REFERENCE["affine_backward"](dout, cache)
        return dx, dw / dout.shape[0], db

    report = check("affine_backward", {**REFERENCE, "affine_backward": affine_backward_dw_only})
    assert report.score < report.points
    assert not any("dw and db are divided" in h for h in report.hints), report.feedback()


def test_points_follow_how_wrong_dropout_is():
    def dropout_forward_shared_mask(x, dropout_param):
        p = dropout_param["p"]
        if dropout_param["mode"] == "test":
            return x.copy(), None
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = (rng.random(x.shape[1:]) >= p) / (1 - p) if p < 1 else np.zeros(x.shape[1:])
        return x * mask, mask  # one mask for the whole batch

    def dropout_forward_not_inverted(x, dropout_param):
        p = dropout_param["p"]
        if dropout_param["mode"] == "test":
            return x.copy(), None
        mask = np.random.default_rng(dropout_param.get("seed")).random(x.shape) >= p
        return x * mask, mask

    shared = check("dropout_forward", {**REFERENCE, "dropout_forward": dropout_forward_shared_mask})
    assert shared.score == 0 and "sharing the first example's mask" in shared.feedback(), shared.feedback()
    not_inverted = check("dropout_forward", {**REFERENCE, "dropout_forward": dropout_forward_not_inverted})
    assert not_inverted.score == 0, not_inverted.feedback()  # p = 0 and p = 1 alone earn nothing


def test_nan_is_reported_before_anything_else():
    def dropout_forward(x, dropout_param):
        p = dropout_param["p"]
        if dropout_param["mode"] == "test":
            return x.copy(), None
        mask = np.random.default_rng(dropout_param.get("seed")).random(x.shape) >= p
        with np.errstate(divide="ignore", invalid="ignore"):
            return x * mask / (1 - p), mask  # p = 1: 0/0

    feedback = check("dropout_forward", {**REFERENCE, "dropout_forward": dropout_forward}).feedback()
    p1 = next(line for line in feedback.splitlines() if "p=1.0" in line)
    assert "nan or inf" in p1 and "seed" not in p1, feedback


def test_a_network_failure_after_a_failing_layer_says_so_first():
    def softmax_loss_no_mean(x, y):
        loss, dx = REFERENCE["softmax_loss"](x, y)
        return loss * len(x), dx * len(x)

    import inspect

    from solutions.models import TwoLayerNet

    namespace = {**REFERENCE, "np": np, "softmax_loss": softmax_loss_no_mean}
    exec(inspect.getsource(TwoLayerNet), namespace)
    checks = load_all()
    reports = {c: check(c, namespace) for c in ("softmax_loss", "two_layer_net", "affine_forward")}
    judge.attribute(reports, checks)
    assert reports["two_layer_net"].notes[0].startswith("softmax_loss failed its own test")
    assert not reports["affine_forward"].notes


def test_adam_without_bias_correction_loses_every_point():
    def adam(w, dw, config=None):
        config = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, **(config or {})}
        b1, b2 = config["betas"]
        g = dw + config["weight_decay"] * w
        m = b1 * config.get("m", 0) + (1 - b1) * g
        v = b2 * config.get("v", 0) + (1 - b2) * g * g
        config.update(m=m, v=v)
        return w - config["lr"] * m / (np.sqrt(v) + config["eps"]), config

    assert check("adam", {**REFERENCE, "adam": adam}).score == 0


def test_forged_all_ones_dropout_masks_are_not_replayed():
    from autograder.spec.checks.models import plausible_mask, replay_dropout

    case = load_all()["fcnet_regularization"].cases()[1]
    n, hidden = len(case.inputs["X"]), case.inputs["hidden_dims"]
    forged = {f"dropout mask {i}": np.ones((n, h)) for i, h in enumerate(hidden, start=1)}
    assert replay_dropout(forged, case.inputs) == {}
    rng = np.random.default_rng(0)
    honest = {f"dropout mask {i}": (rng.random((n, h)) >= 0.3).astype(float) for i, h in enumerate(hidden, start=1)}
    assert "dropout_forward" in replay_dropout(honest, case.inputs)
    assert not plausible_mask(np.tile(rng.random(30) >= 0.3, (20, 1)).astype(float), 0.3)  # one mask for the batch


# ------------------------------------------------------------------ the review's attacks

def test_an_import_the_scan_cannot_read_costs_the_answer():
    from autograder.grading.answers import forbidden_use

    evasive = ("import importlib\ndef sigmoid_forward(x):\n    special = importlib.import_module('sci' + 'py.special')\n"
               "    out = special.expit(x)\n    return out, out\n")
    assert forbidden_use(evasive, {}) == "an import of a computed module name"
    assert forbidden_use("def f(x):\n    return eval('x')\n", {}) == "eval()"
    assert forbidden_use("import sys\ndef f(x):\n    return sys.modules['scipy']\n", {}) == "sys.modules"
    assert forbidden_use("import numpy as np\ndef f(x):\n    return np.maximum(x, 0)\n", {"np": "numpy"}) is None


def test_a_dropout_that_ignores_its_seed_loses_its_points():
    def dropout_forward(x, dropout_param):
        p = dropout_param["p"]
        if dropout_param["mode"] == "test":
            return x.copy(), None
        mask = (np.random.default_rng(1234).random(x.shape) >= p) / (1 - p) if p < 1 else np.zeros_like(x)
        return x * mask, mask

    report = check("dropout_forward", {**REFERENCE, "dropout_forward": dropout_forward})
    assert report.score == 0 and "other seed, other mask" in report.feedback()


def test_degenerate_initializers_lose_their_points():
    def orthogonal_permutation(shape, gain=1.0, rng=None):
        n, m = shape
        w = np.zeros(shape)
        rows = rng.permutation(max(n, m))[:min(n, m)]
        for j, i in enumerate(rows):
            if n >= m:
                w[i % n, j] = gain * rng.choice([-1.0, 1.0])
            else:
                w[j, i % m] = gain * rng.choice([-1.0, 1.0])
        return w

    def xavier_uniform_signs(shape, gain=1.0, rng=None):
        return gain * np.sqrt(2.0 / sum(shape)) * rng.choice([-1.0, 1.0], size=shape)

    assert check("orthogonal", {**REFERENCE, "orthogonal": orthogonal_permutation}).score < 2
    assert check("xavier_uniform", {**REFERENCE, "xavier_uniform": xavier_uniform_signs}).score == 0
