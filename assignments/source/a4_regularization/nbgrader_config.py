"""nbgrader settings for checking your own notebook before you submit it.

In this folder run

    nbgrader validate <this assignment>.ipynb

(or the Validate button of nbgrader's assignment list, with Jupyter started from this folder). It
restarts the kernel, runs every cell from the top and lists each cell that fails: a self-check
whose function is still `raise NotImplementedError()` or gives a wrong answer, an experiment that
raises, and a written answer that still says YOUR ANSWER HERE. "Success!" means your notebook runs
from top to bottom, every self-check passes and every written answer is given; the hidden tests,
which are not in your copy, grade it after you submit.
"""
c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

# Every cell counts, not only the graded ones: in your copy the graded cells are empty (their
# hidden tests run when you submit), so without this validate would report success whatever the
# self-checks say.
c.Validator.validate_all = True

# The self-checks explain a failure in lines of up to about 120 characters; nbgrader's default
# width (90) would cut them off.
c.Validator.width = 130

# A cell may take a while on a slow laptop; one that hangs (an endless loop) is stopped after this
# many seconds and reported as failed.
c.Execute.timeout = 300
