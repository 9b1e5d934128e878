"""Does check_last_layer_from_output accept the last layer's final states gathered from the padded output of a packed
bidirectional nn.LSTM / nn.GRU (checked against the module's h_n), and name each typical wrong reading of output?"""

from __future__ import annotations

import pytest
import torch

from course_lib.checks.nb05_gru import check_last_layer_from_output
from course_lib.checks.nb05_gru.last_layer import LAST_LAYER_FROM_OUTPUT, LOOP_NOTE
from tests.checks.nb05_gru.answers import last_layer_from_output as gathered
from tests.conftest import fails_with, stub


def _halves(output):
    return output.shape[-1] // 2


def advanced_index(output, lengths):
    """One advanced index for the forward halves, a slice for the backward ones."""
    H = _halves(output)
    rows = torch.arange(output.shape[0], device=output.device)
    return torch.cat([output[rows, lengths.to(output.device) - 1, :H], output[:, 0, H:]], dim=1)


def row_loop(output, lengths):
    """Right, one row at a time."""
    H = _halves(output)
    return torch.stack([torch.cat([output[n, int(lengths[n]) - 1, :H], output[n, 0, H:]]) for n in range(len(lengths))])


@pytest.mark.parametrize("right", [gathered, advanced_index])
@pytest.mark.parametrize("hidden", [False, True])
def test_right_answers_pass(right, hidden):
    check_last_layer_from_output(right, hidden=hidden)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_right_answer_passes_on_other_seeds(seed):
    check_last_layer_from_output(advanced_index, hidden=True, seed=seed)


def test_a_loop_over_rows_passes_with_a_note(capsys):
    check_last_layer_from_output(row_loop)
    assert LOOP_NOTE[:40] in capsys.readouterr().out


def test_visible_cases_show_both_modules_one_layer_and_several_and_output_longer_than_the_longest_row():
    cases = LAST_LAYER_FROM_OUTPUT.cases(0, False).values()
    assert {c["module"] for c in cases} == {"LSTM", "GRU"}
    assert {c["num_layers"] == 1 for c in cases} == {True, False}
    assert any(c["output"].shape[1] > c["lengths"].max() for c in cases)
    assert all(sorted(c["lengths"].tolist()) not in (c["lengths"].tolist(), c["lengths"].tolist()[::-1]) for c in cases)


def _forward_at(output, steps):
    return output[torch.arange(output.shape[0]), steps, : _halves(output)]


@pytest.mark.parametrize(
    "wrong, pattern",
    [
        pytest.param(stub, "not implemented yet", id="untouched_stub"),
        pytest.param(
            lambda o, l: torch.cat([o[:, -1, : _halves(o)], o[:, 0, _halves(o) :]], 1),
            r"forward half was read at step T - 1 of every row.*padding",
            id="forward_at_T_minus_1",
        ),
        pytest.param(lambda o, l: o[:, -1], r"it is output\[:, -1\].*STARTS", id="output_last_step"),
        pytest.param(
            lambda o, l: o[torch.arange(o.shape[0]), l - 1],
            r"backward half was read at each row's last real step",
            id="backward_at_last_real_step",
        ),
        pytest.param(
            lambda o, l: torch.cat([o[:, 0, _halves(o) :], _forward_at(o, l - 1)], 1),
            r"the two halves are swapped",
            id="halves_swapped",
        ),
        pytest.param(
            lambda o, l: torch.cat([o[l - 1, torch.arange(o.shape[0]), : _halves(o)], o[:, 0, _halves(o) :]], 1),
            r"step index was applied to the batch axis",
            id="row_and_step_swapped",
        ),
        pytest.param(
            lambda o, l: torch.cat(
                [
                    o.gather(0, (l - 1).view(-1, 1, 1).expand(-1, 1, o.shape[-1]))[:, 0, : _halves(o)],
                    o[:, 0, _halves(o) :],
                ],
                1,
            ),
            r"step index was applied to the batch axis",
            id="gather_over_axis_0",
        ),
        pytest.param(
            lambda o, l: torch.cat([_forward_at(o, (l - 2).clamp(min=0)), o[:, 0, _halves(o) :]], 1),
            r"row \d \(\d real steps\): its forward half is output\[\d, \d, :H\], row \d's forward state at step \d; the row",
            id="forward_one_step_early_located",
        ),
        pytest.param(
            lambda o, l: torch.cat([_forward_at(o, l - 1), o[:, 0, _halves(o) :]], 1) * 1.01,
            r"last_layer_from_output on case .* is wrong.*1.01",
            id="unnamed_scaled",
        ),
        pytest.param(lambda o, l: _forward_at(o, l - 1), r"\(N, 2H\)", id="forward_half_only"),
    ],
)
def test_names_the_mistake(wrong, pattern):
    fails_with(check_last_layer_from_output, wrong, pattern)


def test_a_located_message_never_says_where_the_right_half_is():
    """The backward half is right: the message locates the wrong forward half only."""
    message = fails_with(
        check_last_layer_from_output,
        lambda o, l: torch.cat([_forward_at(o, (l - 2).clamp(min=0)), o[:, 0, _halves(o) :]], 1),
        r"its forward half",
    )
    assert "backward half" not in message


def mask_made_on_the_cpu(output, lengths):
    """Right values, but the mask is built on the CPU: on a GPU, output * mask fails."""
    H, T = _halves(output), output.shape[1]
    pick = torch.arange(T)[None, :] == (lengths - 1)[:, None]
    return torch.cat([(output[..., :H] * pick[..., None]).sum(1), output[:, 0, H:]], dim=1)


def test_a_mask_built_on_the_cpu_is_named_by_the_device_case():
    fails_with(check_last_layer_from_output, mask_made_on_the_cpu, "the meta device, which stands in for a GPU")
