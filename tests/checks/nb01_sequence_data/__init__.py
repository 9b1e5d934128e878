"""Does each notebook-01 check accept a correct implementation and name at least two typical mistakes?

The correct implementations here are written for the tests (not imported from the solution notebook), so a
check is tested against an independent answer as well as against the solution run in tests/test_notebooks.py.
One test module per submodule of ``course_lib.checks.nb01_sequence_data``; each mistake is one row of a
``pytest.mark.parametrize`` table: the wrong answer, the pattern its message must match, and whether the
mistake only shows on the hidden cases.
"""
