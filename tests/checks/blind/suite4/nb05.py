# ruff: noqa: F811, F841
# Copied from independent blind suite 4 (written from the learner notebooks' text only, session 5), reformatted by ruff; see ../README.md.
"""Blind cases for notebook 05 (GRU), exercise 5: last_layer_from_output."""

import torch

NB = "05_gru"


# ---------------------------------------------------------------- correct
def last_layer_advanced_indexing(output, lengths):
    H = output.shape[2] // 2
    rows = torch.arange(output.shape[0], device=output.device)
    last = (lengths - 1).to(output.device)
    return torch.cat([output[rows, last, :H], output[:, 0, H:]], dim=1)


def last_layer_gather(output, lengths):
    N, T, H2 = output.shape
    index = (lengths - 1).to(output.device).view(N, 1, 1).expand(N, 1, H2)  # one step per row, along dim 1
    at_end = output.gather(1, index).squeeze(1)  # (N, 2H): the whole vector at each row's last real step
    H = H2 // 2
    return torch.cat([at_end[:, :H], output[:, 0, H:]], dim=1)


def last_layer_one_hot_mask(output, lengths):
    N, T, H2 = output.shape
    steps = torch.arange(T, device=output.device)
    pick = (steps[None, :] == (lengths.to(output.device) - 1)[:, None]).to(output.dtype)  # (N, T), one 1 per row
    forward = (output[..., : H2 // 2] * pick[..., None]).sum(1)  # all other terms are exact zeros
    return torch.cat([forward, output[:, 0, H2 // 2 :]], dim=1)


# ---------------------------------------------------------------- mistakes
def last_layer_last_column(output, lengths):
    return output[:, -1]  # right forward half only for rows as long as T; backward half never


def last_layer_both_at_end(output, lengths):
    rows = torch.arange(output.shape[0], device=output.device)
    return output[rows, (lengths - 1).to(output.device)]  # the backward half read at the end too


def last_layer_backward_at_minus_one(output, lengths):
    H = output.shape[2] // 2
    rows = torch.arange(output.shape[0], device=output.device)
    return torch.cat([output[rows, (lengths - 1).to(output.device), :H], output[:, -1, H:]], dim=1)


def last_layer_index_at_length(output, lengths):
    H = output.shape[2] // 2
    rows = torch.arange(output.shape[0], device=output.device)
    return torch.cat([output[rows, lengths.to(output.device), :H], output[:, 0, H:]], dim=1)  # off by one


def last_layer_ends_swapped(output, lengths):
    H = output.shape[2] // 2
    rows = torch.arange(output.shape[0], device=output.device)
    return torch.cat([output[:, 0, :H], output[rows, (lengths - 1).to(output.device), H:]], dim=1)


def last_layer_halves_swapped(output, lengths):
    H = output.shape[2] // 2
    rows = torch.arange(output.shape[0], device=output.device)
    return torch.cat(
        [output[:, 0, H:], output[rows, (lengths - 1).to(output.device), :H]], dim=1
    )  # [backward; forward]


def last_layer_gather_dim0(output, lengths):
    N, T, H2 = output.shape
    index = (lengths - 1).to(output.device).view(N, 1, 1).expand(N, 1, H2)
    at_end = output.gather(0, index).squeeze(1)  # along the batch axis: row lengths-1 at step 0
    return torch.cat([at_end[:, : H2 // 2], output[:, 0, H2 // 2 :]], dim=1)


def last_layer_longest_row(output, lengths):
    H = output.shape[2] // 2
    t = int(lengths.max()) - 1  # the longest row's last step for every row
    return torch.cat([output[:, t, :H], output[:, 0, H:]], dim=1)


def last_layer_mask_on_cpu(output, lengths):
    N, T, H2 = output.shape
    pick = torch.arange(T)[None, :] == (lengths - 1)[:, None]  # on the CPU: fails when output is elsewhere
    forward = (output[..., : H2 // 2] * pick[..., None]).sum(1)
    return torch.cat([forward, output[:, 0, H2 // 2 :]], dim=1)


def last_layer_sorted_lengths(output, lengths):
    H = output.shape[2] // 2
    rows = torch.arange(output.shape[0], device=output.device)
    last = (lengths.sort(descending=True).values - 1).to(output.device)  # as if the batch were sorted
    return torch.cat([output[rows, last, :H], output[:, 0, H:]], dim=1)


def _c(kind, name, what, fn):
    return dict(notebook=NB, exercise="last_layer_from_output", kind=kind, name=name, what=what, fn=fn)


CASES = [
    _c(
        "correct",
        "advanced_indexing",
        "output[arange(N), lengths - 1, :H] and output[:, 0, H:], indices on output's device.",
        last_layer_advanced_indexing,
    ),
    _c(
        "correct",
        "gather",
        "gather along dim 1 with an (N, 1, 2H) index, forward half kept; backward from step 0.",
        last_layer_gather,
    ),
    _c(
        "correct",
        "one_hot_mask_sum",
        "a (N, T) one-hot of lengths - 1 on output's device, masked sum over T.",
        last_layer_one_hot_mask,
    ),
    _c("mistake", "last_column", "output[:, -1].", last_layer_last_column),
    _c("mistake", "both_halves_at_end", "both halves read at step lengths - 1.", last_layer_both_at_end),
    _c(
        "mistake",
        "backward_at_last_column",
        "forward at lengths - 1, backward at output[:, -1].",
        last_layer_backward_at_minus_one,
    ),
    _c("mistake", "index_at_length", "forward read at step lengths (off by one).", last_layer_index_at_length),
    _c("mistake", "ends_swapped", "forward read at step 0, backward at lengths - 1.", last_layer_ends_swapped),
    _c("mistake", "halves_swapped", "returns [backward; forward].", last_layer_halves_swapped),
    _c("mistake", "gather_dim0", "torch.gather along dim 0 (the batch axis) instead of dim 1.", last_layer_gather_dim0),
    _c("mistake", "longest_row_step", "every row read at max(lengths) - 1.", last_layer_longest_row),
    _c(
        "mistake",
        "mask_on_cpu",
        "the mask route with torch.arange(T) on the CPU: fails for output on another device.",
        last_layer_mask_on_cpu,
    ),
    _c(
        "mistake",
        "sorted_lengths",
        "lengths sorted descending, as if the batch were sorted.",
        last_layer_sorted_lengths,
    ),
]
