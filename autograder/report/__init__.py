"""Report: what the class got wrong, after grading and feedback and before export.

Built from nbgrader's gradebook (the scores) and the grading records the pipeline writes beside
each autograded notebook (`autograder.grading.records`: per check the failing cases, the outputs
that differ and the catalogued mistake that explains them; per cell the incidents; the time).
One page per assignment, self-contained, with the same numbers as CSV:
- `inputs`: the gradebook and the records, and who has no usable record and why;
- `scores`: the score distribution per graded function; `mistakes`: how many made each
  catalogued mistake; `failures`: what the catalogue does not explain yet, with examples;
  `incidents`: crashes, timeouts, memory and output limits per cell, time per notebook;
  `service`: use of the feedback service before the deadline; `similarity` (on
  `fingerprints`): pairs of submissions to read side by side, never a verdict;
- `tables`, `plots`, `html`: the CSV rows, the inline SVG plots, the page; `build` puts one
  assignment's report together; `students`: one page across assignments, per student.
"""
