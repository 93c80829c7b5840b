"""Grading, on the instructor's side of the boundary: submissions are read as data and merged
(`submission`), screened for forbidden modules (`answers`), run in the sandbox, judged here
(`judge`), and written to the autograded notebook and the gradebook by one process (`pipeline`,
`gradebook`, `state`), with a grading record of what the judge found (`records`, which
`autograder report` reads). `audit` re-checks a graded class from scratch.
"""
