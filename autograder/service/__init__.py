"""The feedback service: students ask, before the deadline, what the hidden tests say about their work.

`autograder serve` answers a notebook sent over HTTP with the judge's diagnosing feedback, per
graded function, computed exactly as `autograder grade` computes the grade of record (same
sandbox, same judge), without ever showing a hidden input, an expected value or test code, and
without writing the gradebook.

- `app`: the service (database, workers, Tornado application) started and stopped together;
  why Tornado.
- `handlers`: the HTTP interface, one handler per resource; `static/`: the web page.
- `intake`: what an upload must be before it may wait (a notebook, of that assignment).
- `store`: the database (SQLAlchemy; SQLite in WAL mode by default): requests, uploads, tokens.
- `workers`: grading threads over the queue in the database, and their watchdog.
- `grading`: the grade function (sandbox + judge + verdict) and how another is put in its place.
- `verdict`: what of the judge's reports a student may read before the deadline.
- `tokens`: per-student tokens from the roster; `hub`: JupyterHub OAuth, as a Hub-managed service.
- `config`: every setting and its default.
"""
