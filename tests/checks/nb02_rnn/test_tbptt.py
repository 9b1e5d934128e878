"""Does check_tbptt accept truncated BPTT (detach every k steps) and name each schedule mistake?"""

from __future__ import annotations

import pytest

from course_lib.checks.nb02_rnn import check_tbptt
from tests.checks.nb02_rnn._common import mistake
from tests.conftest import fails_with


def make_tbptt(mistake: str | None = None):
    def tbptt(step, x, y, h0, k, optimizer=None):
        T = x.shape[1]
        chunk = {"chunks of k + 1": k + 1, "detached every step": 1}.get(mistake, k)
        h, total, loss = h0, 0.0, 0.0
        for start in range(0, T, chunk):
            stop = min(start + chunk, T)
            if mistake == "drop last chunk" and stop - start < chunk:
                break
            if mistake not in ("never detached", "never detached, one backward"):
                h = h.detach()
            if mistake != "never detached, one backward":
                loss = 0.0
            for t in range(start, stop):
                h, loss_t = step(x[:, t], y[:, t], h)
                loss = loss + loss_t
            if mistake == "never detached, one backward":
                continue
            if mistake != "backward after the loop":
                loss.backward()
            total += float(loss.detach())
            if optimizer is not None and mistake == "zero_grad before step":
                optimizer.zero_grad()
                optimizer.step()
            elif optimizer is not None and mistake != "step at the end":
                optimizer.step()
                if mistake != "no zero_grad":
                    optimizer.zero_grad()
        if mistake == "never detached, one backward":
            loss.backward()
            total = float(loss.detach())
        if mistake == "backward after the loop":
            loss.backward()
        if mistake == "step at the end" and optimizer is not None:
            optimizer.step()
        return h.detach(), total

    return tbptt


@pytest.mark.parametrize("hidden", [False, True])
def test_tbptt_accepts_correct(hidden):
    check_tbptt(make_tbptt(), hidden=hidden)


def _detached_only_at_start(step, x, y, h0, k, optimizer=None):
    h, total = h0.detach(), 0.0
    for t in range(x.shape[1]):
        h, loss = step(x[:, t], y[:, t], h)
        loss.backward()  # a backward per step through a graph that grows: fails at the second step
        total += float(loss.detach())
    return h, total


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        mistake(make_tbptt, "never detached", "never detached"),
        mistake(make_tbptt, "never detached, one backward", "never detached"),
        mistake(make_tbptt, "detached every step", "detached every step"),
        mistake(make_tbptt, "chunks of k + 1", "chunks have k \\+ 1"),
        mistake(make_tbptt, "drop last chunk", "last, shorter chunk"),
        mistake(make_tbptt, "backward after the loop", "only the last chunk's loss"),
        mistake(make_tbptt, "no zero_grad", "not cleared"),
        mistake(
            make_tbptt,
            "zero_grad before step",
            r"always on cleared gradients.*loss.backward\(\), optimizer.step\(\), "
            r"optimizer.zero_grad\(\)",
        ),
        mistake(make_tbptt, "step at the end", "updated once at the end"),
        pytest.param(_detached_only_at_start, "never detached", id="detached only at the start"),
    ],
)
def test_tbptt_names_mistakes(wrong, pattern):
    fails_with(check_tbptt, wrong, pattern)


def test_the_never_detached_message_says_what_is_wrong_not_the_line():
    """Issue 24: the message said "Detach the carried state at the start of every chunk: h = h.detach()"."""
    message = fails_with(check_tbptt, make_tbptt("never detached"), "never detached")
    assert "chunk boundary" in message and "h.detach()" not in message, message
