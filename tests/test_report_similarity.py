"""Similarity of submissions: normalization, winnowing's guarantees, and the ranking on a synthetic
class with planted copies among independent correct solutions."""
from __future__ import annotations

import random

import pytest

import report_course
from autograder.demo.report_class import FUNCTIONS, STYLES, disguise
from autograder.report import fingerprints as fp
from autograder.report import similarity

pytestmark = pytest.mark.xdist_group("report")
KEEP = frozenset({"affine_forward", "affine_backward", "np"})


def tokens(source: str) -> list[list[str]]:
    return [u[0] for u in fp.normalize([source], KEEP).units]


def prints(sources: list[str]) -> set[int]:
    return set(fp.fingerprints(fp.normalize(sources, KEEP)))


# ------------------------------------------------------------------ normalization

def test_renamed_variables_comments_blank_lines_and_docstrings_change_no_token():
    original = STYLES["matmul"]["affine_backward"]
    copied = disguise(original, {"x": "inputs", "gx": "grad_inputs", "batch": "n_rows"}, ["gradient", "reshape back"],
                      reorder=False)
    copied = copied.replace("def affine_backward(dout, cache):", 'def affine_backward(dout, cache):\n    """Mine."""\n\n')
    assert copied != original
    assert tokens(copied) == tokens(original)


def test_the_order_of_functions_and_of_methods_changes_no_fingerprint():
    helpers = STYLES["helpers"]["affine_backward"]  # three functions in one cell
    assert prints([helpers]) == prints([disguise(helpers, {}, [], reorder=True)])
    cls = "class Net:\n    def a(self, x):\n        return np.tanh(x) * 2 + x.sum(axis=0)\n\n" \
          "    def b(self, y):\n        return np.maximum(0, y) - y.mean(axis=1, keepdims=True)\n"
    swapped = "class Net:\n    def b(self, y):\n        return np.maximum(0, y) - y.mean(axis=1, keepdims=True)\n\n" \
              "    def a(self, x):\n        return np.tanh(x) * 2 + x.sum(axis=0)\n"
    assert prints([cls]) == prints([swapped])


def test_attributes_keywords_builtins_and_graded_names_stay_while_chosen_names_become_v():
    (unit,) = tokens("def affine_forward(shape, w, b):\n    return np.dot(shape.reshape(len(shape), -1), w, out=None) + b\n")
    assert unit[:2] == ["def", "affine_forward"]
    assert {".reshape", ".dot", "len", "out=", "np"} <= set(unit)
    assert "shape" not in unit and "w" not in unit and unit.count("V") == 7


def test_a_cell_that_does_not_parse_is_still_compared_by_its_tokens():
    broken = "def affine_forward(x, w, b):\n    out = x.reshape(x.shape[0], -1) @ w + b\n    return out, (x, w)\n" \
             "def oops(:)\n    pass\n"
    doc = fp.normalize([broken], KEEP)
    assert doc.units and not doc.skipped and "reshape" in doc.units[0][0]


# ------------------------------------------------------------------ winnowing

@pytest.mark.parametrize("seed", range(8))
def test_a_shared_run_of_w_plus_k_minus_1_tokens_always_shares_a_fingerprint(seed):
    rng = random.Random(seed)
    shared = [f"t{rng.randrange(10**9)}" for _ in range(fp.W + fp.K - 1)]
    a = [f"a{rng.randrange(10**9)}" for _ in range(rng.randrange(0, 40))] + shared + [f"a{i}" for i in range(30)]
    b = [f"b{rng.randrange(10**9)}" for _ in range(rng.randrange(0, 40))] + shared + [f"b{i}" for i in range(30)]
    ha, hb = fp.kgram_hashes(a), fp.kgram_hashes(b)
    assert {int(h) for h in ha[fp.winnow(ha)]} & {int(h) for h in hb[fp.winnow(hb)]}


def test_a_shared_run_shorter_than_k_tokens_shares_no_fingerprint():
    shared = [f"s{i}" for i in range(fp.K - 1)]
    a = [f"a{i}" for i in range(50)] + shared + [f"a{i}" for i in range(50, 90)]
    b = [f"b{i}" for i in range(50)] + shared + [f"b{i}" for i in range(50, 90)]
    assert not set(fp.kgram_hashes(a).tolist()) & set(fp.kgram_hashes(b).tolist())


def test_winnowing_keeps_the_rightmost_minimum_of_each_window():
    hashes = fp.kgram_hashes([f"x{i % 7}" for i in range(60)])
    chosen = set(fp.winnow(hashes, 4).tolist())
    for start in range(len(hashes) - 3):
        window = hashes[start:start + 4]
        rightmost = start + 3 - int(window[::-1].argmin())
        assert rightmost in chosen


# ------------------------------------------------------------------ the class

def class_answers(n_reference_like: int = 3) -> dict[str, list[str]]:
    """Six independent styles, students who write the reference (names changed), and two planted copies."""
    _, reference = report_course.notebooks()
    answers = {style: [cells.get(name, reference[name]) for name in reference] for style, cells in STYLES.items()}
    for i in range(n_reference_like):
        answers[f"like-reference-{i}"] = [disguise(reference[name], {"out": f"result{i}", "x": f"inp{i}"}, ["mine"],
                                                   reorder=False) for name in reference]
    answers["copies-matmul"] = [disguise(STYLES["matmul"].get(name, reference[name]),
                                         {"batch": "bs", "out": "res", "grad": "g", "mask": "keep", "stable": "shifted"},
                                         ["step one", "then this"]) for name in reference]
    answers["copies-helpers"] = [disguise(STYLES["helpers"].get(name, reference[name]),
                                          {"grad_x": "gx", "_rows_of": "_flat", "_bias_grad": "_db", "logp": "lp"},
                                          ["note"]) for name in reference]
    return answers


def compare(answers):
    release, reference = report_course.notebooks()
    return similarity.compare(answers, release, list(reference.values()))


def test_independent_correct_solutions_are_correct():
    from autograder.grading import judge

    for style, cells in STYLES.items():
        namespace = dict(judge.reference_namespace())
        for source in cells.values():
            exec(source, namespace)  # noqa: S102 - the test's own solutions
        for name in FUNCTIONS:
            report = judge.check_namespace(name, namespace)
            assert report.passed, (style, report.feedback())


def test_planted_copies_rank_at_the_top_and_independent_solutions_do_not():
    result = compare(class_answers())
    planted = {frozenset({"copies-matmul", "matmul"}), frozenset({"copies-helpers", "helpers"})}
    ranked = [frozenset({p.a, p.b}) for p in result.pairs]
    assert set(ranked[:2]) == planted, [(p.a, p.b, p.shared) for p in result.pairs]
    weakest_copy = min(p.shared for p in result.pairs[:2])
    assert all(p.shared * 3 < weakest_copy for p in result.pairs[2:]), [(p.a, p.b, p.shared) for p in result.pairs]
    assert all(p.a_fraction > 0.9 and p.b_fraction > 0.9 for p in result.pairs[:2])
    assert result.pairs[0].regions and result.pairs[1].regions


def test_code_everyone_writes_like_the_reference_matches_no_one():
    result = compare(class_answers(n_reference_like=5))
    assert not [p for p in result.pairs if p.a.startswith("like-reference") or p.b.startswith("like-reference")]
    assert all(result.fingerprinted[f"like-reference-{i}"] == 0 for i in range(5))


def test_an_idiom_most_of_the_class_shares_is_set_aside():
    idiom = ("def affine_forward(x, w, b):\n    rows = x.shape[0]\n    cols = int(np.prod(x.shape[1:]))\n"
             "    flat = np.ascontiguousarray(x).reshape(rows, cols)\n    return np.matmul(flat, w) + b[np.newaxis, :], (x, w)\n")
    rng = random.Random(3)
    answers = {f"s{i}": [disguise(idiom, {"rows": f"r{i}", "flat": f"f{i}"}, []),
                         "def helper(t):\n" + "".join(f"    t = t * {rng.randrange(2, 10**6)} + {rng.randrange(10**6)}\n"
                                                     for _ in range(6)) + "    return t\n"]
               for i in range(12)}
    result = compare(answers)
    assert result.pairs == [] and result.common > 0


def test_a_class_of_500_is_compared_through_its_fingerprint_index():
    rng = random.Random(0)
    _, reference = report_course.notebooks()
    answers = {}
    for i in range(500):
        style = rng.choice(sorted(STYLES))
        answers[f"s{i:03d}"] = [disguise(STYLES[style].get(name, reference[name]), {"out": f"o{i}"}, [], reorder=False)
                                for name in reference]
    answers["s999"] = [disguise(src, {"x": "inputs"}, ["copied"]) for src in answers["s123"]]
    result = compare(answers)
    # A style shared by ~80 students is the class's common code, not a copy: set aside.
    assert result.common_threshold == 50 and result.common > 0
    assert result.pairs_sharing < 500 * 499 // 2
