"""Solutions to the exercise notebooks, one module per notebook, with the stubs' names.

Each function is self-contained (it uses only NumPy as ``np``), so that the two-way test in
tests/notebooks/test_exercises.py can paste its source into the notebook in place of the stub.
"""
