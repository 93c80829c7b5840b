"""What a student reads before the deadline (autograder.service.verdict): the judge's own sentences,
with every text a notebook could have chosen, and every expected value, left out.

Each test makes the judge (or the supervisor) write the sentence it rewrites, so a change of
wording there fails here instead of letting a leak through.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.grading.judge import CaseVerdict, Report, _difference, assess, reference_namespace, trusted_run
from autograder.grading.runs import Run
from autograder.sandbox.supervisor import _why_it_died
from autograder.service import verdict
from autograder.spec.checks import load_all

CHECK = "dropout_forward"
SECRET = "0.8347162"


@pytest.fixture(scope="module")
def check():
    return load_all()[CHECK]


def notebook(*code: str) -> verdict.Notebook:
    return verdict.Notebook([{"cell_type": "code", "source": source} for source in code])


def public_feedback(report: Report, nb: verdict.Notebook) -> str:
    return verdict.public_reports({CHECK: report}, nb)[CHECK].feedback()


def raising(check, error: str) -> Report:
    return assess(check, [Run(error=error) for _ in check.cases()], 3)


def test_an_exception_message_is_dropped_and_the_students_own_line_is_kept(check):
    report = raising(check, f"ValueError: [{SECRET}, 1.25] (line 3 of your code: raise ValueError(repr(x)))")
    assert SECRET in report.feedback()  # after the deadline the judge shows it
    shown = public_feedback(report, notebook("def dropout_forward(x, p):\n    raise ValueError(repr(x))"))
    assert SECRET not in shown and "1.25" not in shown
    assert "raised ValueError at line 3 of your code: raise ValueError(repr(x))" in shown
    assert "not shown before the deadline" in shown


def test_a_line_or_an_exception_name_the_notebook_does_not_contain_is_not_echoed(check):
    report = raising(check, f"Leak_{SECRET[2:]}: x (line 1 of your code: {SECRET})")
    shown = public_feedback(report, notebook("def dropout_forward(x, p):\n    return x"))
    assert SECRET not in shown and SECRET[2:] not in shown
    assert "raised an exception in your code" in shown


def test_hints_that_the_judge_drew_from_the_exception_stay(check):
    report = raising(check, "NotImplementedError (line 2 of your code: raise NotImplementedError())")
    shown = public_feedback(report, notebook("def dropout_forward(x, p):\n    raise NotImplementedError()"))
    assert "not implemented yet" in shown and "raised NotImplementedError" in shown


def test_a_name_error_names_the_name_only_when_the_notebook_has_it(check):
    known = public_feedback(raising(check, "NameError: name 'helper' is not defined"), notebook("y = helper(x)"))
    assert "name 'helper' is not defined" in known and "run the cells above" in known
    forged = public_feedback(raising(check, f"NameError: name 'v{SECRET[2:]}' is not defined"), notebook("y = 1"))
    assert SECRET[2:] not in forged


def test_a_stopped_case_is_said_in_fixed_words_without_numbers_the_notebook_chose(check):
    timeout = public_feedback(raising(check, "CaseTimeout: stopped: ran past its 83471 s budget"), notebook())
    assert "ran past its time budget" in timeout and "83471" not in timeout
    died = public_feedback(raising(check, _why_it_died(-11)), notebook())
    assert "died with SIGSEGV" in died
    exited = public_feedback(raising(check, _why_it_died(83)), notebook())
    assert "exited" in exited and "83" not in exited.split("points")[1]


def test_an_expected_value_of_a_statistic_is_not_shown(check):
    finding = _difference(check, "kept fraction", np.array(0.2984), np.array(0.7016), "the reference", 0.0)
    assert "0.7016" in finding.message  # the judge's own sentence
    report = Report(CHECK, 3, [CaseVerdict("x (4, 5), p=0.3", [finding])])
    shown = public_feedback(report, notebook())
    assert "0.7016" not in shown and "0.2984" not in shown and "kept fraction is not what the reference gives" in shown


def test_an_output_shape_is_shown_only_when_made_of_the_cases_own_sizes(check):
    forged = _difference(check, "out", np.zeros((83471, 2)), np.zeros((4, 5)), "the reference", 1.0)
    honest = _difference(check, "out", np.zeros((5, 4)), np.zeros((4, 5)), "the reference", 1.0)
    report = Report(CHECK, 3, [CaseVerdict("x (4, 5), p=0.3", [forged]), CaseVerdict("x (4, 5), p=0.5", [honest])])
    shown = public_feedback(report, notebook())
    assert "83471" not in shown and "out has the wrong shape: expected (4, 5)" in shown
    assert "out has shape (5, 4), expected (4, 5)" in shown


def test_an_argument_name_the_notebook_does_not_contain_is_not_echoed(check):
    runs = [trusted_run(check, reference_namespace(), case) for case in check.cases()]
    for run in runs:
        run.mutations = [(CHECK, f"x{SECRET[2:]}")]
    report = assess(check, runs, 3)
    assert SECRET[2:] in report.feedback() and report.score < 3
    shown = verdict.public_reports({CHECK: report}, notebook("def dropout_forward(x, p):\n    x *= 2"))[CHECK]
    assert SECRET[2:] not in shown.feedback() and "modified one of its input arrays in place" in shown.feedback()
    assert shown.score == report.score  # only text changes
    for run in runs:
        run.mutations = [(CHECK, "x")]
    assert "modified its input x in place" in public_feedback(assess(check, runs, 3), notebook("x *= 2"))


def test_a_code_cell_that_was_stopped_or_raised_is_named_by_its_own_first_line():
    nb = notebook("while True:\n    pass", "class Leak_83471(Exception): pass")
    notes = verdict.cell_notes([("import os", _why_it_died(83))], [("while True:", "CellTimeout"), ("x = 1", "Leak_83471"),
                                                                  ("y = 2", "Data_0_8347")], nb)
    assert notes[0].startswith("the cell that begins `import os`:") and "83" not in notes[0]
    assert "ran past its time limit" in notes[1] and "raised Leak_83471" in notes[2]
    assert notes[3] == "1 more cells raised or were stopped"


def test_scores_are_never_changed_only_text(check):
    report = raising(check, f"ValueError: {SECRET}")
    public = verdict.public_reports({CHECK: report}, notebook())[CHECK]
    assert (public.score, public.points, [c.passed for c in public.cases]) == \
        (report.score, report.points, [c.passed for c in report.cases])
