"""The NumPy reference implementation of every graded function (instructor-only).

Each function and class body is self-contained: `autograder sync` copies it verbatim into its
own notebook cell, where a student's version replaces it, so bodies repeat small pieces
(argument checks, the sigmoid of one layer) rather than share private helpers.
"""
