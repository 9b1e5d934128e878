"""Which exercise a demonstration cell waits for.

A learner notebook runs top to bottom before its exercises are written; a cell that calls an unwritten
function then fails with the stub's bare ``NotImplementedError()``, which does not say what to do.  Wrapped in
``needs``, it says which exercise to write first, and stays a ``NotImplementedError`` (the only error an
untouched learner notebook may raise, DEVELOPING.md):

    with needs("exercise 7 (perplexity)"):
        print(perplexity(val_logits, val_targets, pad_id))

NotImplementedError: this cell runs your code of exercise 7 (perplexity): write it above, then run this cell again
"""

from __future__ import annotations

from contextlib import contextmanager

__all__ = ["needs"]


@contextmanager
def needs(*exercises: str):
    """Run the block; an unwritten exercise's NotImplementedError inside it names ``exercises``."""
    try:
        yield
    except NotImplementedError as error:
        them = "it" if len(exercises) == 1 else "them"
        raise NotImplementedError(
            f"this cell runs your code of {', '.join(exercises)}: write {them} above, then run this cell again"
        ) from error
