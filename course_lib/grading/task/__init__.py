"""A grading task: one student's assignment, inside a Dask worker process (this machine or another), trusted.

It sees no course folder, only what the coordinator sent; it starts the sandbox (:mod:`.bwrap`), judges what the
sandbox recorded (:mod:`.judge`) and makes the learner's HTML inert (:mod:`.inert`) before it goes back.
"""
