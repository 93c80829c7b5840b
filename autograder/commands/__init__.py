"""The instructor's commands (`autograder <command>`): authoring (sync, generate), collect, grade,
feedback, export, audit, bundle, demo; and the the student bundle; `grading.nbgrader_cli` is the one place that calls the real nbgrader.
"""
