"""The grader, one package per stage of the instructor's workflow and per side of the trust boundary.

- `runtime/`: the only code that enters the sandbox. It runs the notebook's cells and, for each
  hidden test cell, calls the student's functions on inputs it is handed and reports what came
  back. It holds no reference, no PyTorch formulation, no expected value and no score.
- `sandbox/`: isolation (bubblewrap, with or without root), limits, slots, and the supervisor that
  speaks the protocol with the runtime and treats every message as untrusted data.
- `spec/`: what is graded: the registry of graded items and points, the hidden cases with their
  PyTorch oracles and comparison rules, and the catalogue of known mistakes. Host side only.
- `grading/`: preparing submissions, judging recorded runs, the gradebook, resume state, audit.
- `commands/`: the instructor's command line and the nbgrader-facing steps (sync, generate,
  collect, export, bundle).
- `demo/`: synthetic classes, for `make demo`, the tests and the benchmarks.

This file imports nothing: it is staged into the sandbox beside `runtime/`.
"""
