"""Issue-16 bad-input cases (io part), merged into tests/test_bad_input_catalogue.py's CASES.

Same tuple shape as there: (id, argv, setup-or-None, *marks). Helpers for setups are
imported from test_bad_input_catalogue's module-level functions where needed.
"""

CASES: list = []
