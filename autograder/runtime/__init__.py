"""What enters the sandbox: the process that runs a submission's cells, and the drivers that call
the student's functions for the hidden tests.

Imports allowed here: the standard library, NumPy, IPython and this package (a test checks the
imports of every module). Nothing here can tell a right answer from a wrong one: the drivers only
call code and report outputs, the inputs arrive one case at a time from the supervisor, and the
comparison happens in the grading process (`autograder.grading.judge`), which never runs student
code.
"""
