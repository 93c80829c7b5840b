"""nbgrader configuration for the course root (this directory).

Graded cells are generated from solutions/ and autograder/registry.py: run `autograder sync`
after editing either, and `autograder generate` to make the student versions in release/.
"""
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "training-deep-networks"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# Students may delete or reorder cells; nbgrader puts the instructor's test cells back.
c.OverwriteCells.add_missing_cells = True

# What replaces each solution region in the student version.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True
c.ClearHiddenTests.enforce_metadata = True

# Every source notebook runs in under a minute; a cell that hangs is stopped, not waited on.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Keep runaway output out of the gradebook and the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 20

# `nbgrader validate` here reports every failing cell, self-checks and experiments included, as
# the students' own copy does (source/<id>/nbgrader_config.py ships with each release): the graded
# cells of a release are empty, so validating only them would always succeed.
c.Validator.validate_all = True

# Feedback shows each student the diagnosing messages of the hidden tests, not their code.
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import ClearHiddenTests, GetGrades  # noqa: E402

c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
