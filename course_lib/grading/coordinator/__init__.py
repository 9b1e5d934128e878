"""The coordinator: the ``course grade`` process (and the instructor's other ``course`` commands), trusted.

The only writer of the course folder and the real gradebook.  Nothing here runs learner code; what a grading task
sends back is recorded as data.
"""
