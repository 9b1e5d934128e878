"""Tests of ``course_lib.checks.nb05_gru``, one module per submodule of the package."""
