"""Does each notebook-02 check accept a correct implementation and name the classic mistakes?

One test module per module of ``course_lib/checks/nb02_rnn/``.  The correct implementations here are
written for the tests (not imported from the solution notebook); the ones several modules build on are
in :mod:`tests.checks.nb02_rnn._common`.  Each mistake is the smallest change to a correct implementation
that a learner typically makes; the test asserts the check's message names it.
"""
