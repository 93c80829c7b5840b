"""What is graded and how: the registry of graded items, the hidden cases with their oracles and
comparison rules (`checks/`), and the catalogue of known mistakes. Host side only: nothing here
is staged into the sandbox.
"""
