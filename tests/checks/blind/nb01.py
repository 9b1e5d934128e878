# ruff: noqa: F811, F841
# Copied from the independent blind suite (written from the learner notebooks' text only), reformatted by ruff; see README.md.
# build_vocab's cases were ported to max_size (issue 23): each takes max_size=None and cuts its own list, keeping its mistake.
"""Blind suite for notebook 01_sequence_data: realistic wrong and correct-alternative implementations."""

import collections

import torch
import torch.nn.functional as F

NB = "01_sequence_data"
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]
CASES = []


def case(exercise, kind, name, what):
    def deco(fn):
        CASES.append(dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn))
        return fn

    return deco


# ---------------------------------------------------------------- build_vocab
@case("build_vocab", "correct", "manual_counts_first_seen", "Counts in a dict and sorts by (-count, first position).")
def build_vocab(sentences, min_freq=1, max_size=None):
    counts, first = {}, {}
    pos = 0
    for sentence in sentences:
        for tok in sentence:
            if tok not in counts:
                counts[tok] = 0
                first[tok] = pos
            counts[tok] += 1
            pos += 1
    kept = [t for t in counts if counts[t] >= min_freq and t not in SPECIALS]
    kept.sort(key=lambda t: (-counts[t], first[t]))
    return list(SPECIALS) + kept[:max_size]


@case(
    "build_vocab",
    "correct",
    "counter_chain_filter",
    "Counter over itertools.chain, most_common, skipping specials already present.",
)
def build_vocab(sentences, min_freq=1, max_size=None):
    import itertools

    counter = collections.Counter(itertools.chain.from_iterable(sentences))
    itos = list(SPECIALS)
    seen = set(itos)
    for tok, c in counter.most_common():
        if c >= min_freq and tok not in seen and (max_size is None or len(itos) < len(SPECIALS) + max_size):
            itos.append(tok)
            seen.add(tok)
    return itos


@case(
    "build_vocab", "mistake", "alphabetical", "I sorted the kept tokens alphabetically so the order is deterministic."
)
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + sorted(t for t, c in counter.items() if c >= min_freq)[:max_size]


@case(
    "build_vocab",
    "mistake",
    "no_specials",
    "I returned only the tokens by frequency and forgot the four special tokens.",
)
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    return [t for t, c in counter.most_common() if c >= min_freq][:max_size]


@case(
    "build_vocab", "mistake", "min_freq_strict", "I kept tokens that occur more than min_freq times (> instead of >=)."
)
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counter.most_common() if c > min_freq][:max_size]


@case(
    "build_vocab",
    "mistake",
    "ties_alphabetical",
    "I sorted by count and broke ties alphabetically instead of by first appearance.",
)
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    return list(SPECIALS) + [t for t, c in items if c >= min_freq][:max_size]


@case(
    "build_vocab",
    "mistake",
    "specials_duplicated",
    "If a sentence contains '<unk>' it appears twice: I did not skip tokens that are already specials.",
)
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    return list(SPECIALS) + [t for t, c in counter.most_common() if c >= min_freq][:max_size]


@case(
    "build_vocab",
    "mistake",
    "document_frequency",
    "I counted in how many sentences a token occurs, not how often it occurs.",
)
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in dict.fromkeys(s))
    return list(SPECIALS) + [t for t, c in counter.most_common() if c >= min_freq and t not in SPECIALS][:max_size]


@case("build_vocab", "mistake", "specials_last", "I put the special tokens after the vocabulary words.")
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    return [t for t, c in counter.most_common() if c >= min_freq and t not in SPECIALS][:max_size] + list(SPECIALS)


@case("build_vocab", "mistake", "ascending_count", "I sorted by count ascending (rarest first).")
def build_vocab(sentences, min_freq=1, max_size=None):
    counter = collections.Counter(t for s in sentences for t in s)
    items = [kv for kv in counter.most_common() if kv[1] >= min_freq and kv[0] not in SPECIALS]
    items.sort(key=lambda kv: kv[1])
    return list(SPECIALS) + [t for t, _ in items][:max_size]


# ---------------------------------------------------------------- encode
@case(
    "encode",
    "correct",
    "stoi_get",
    "Builds a dict token->id and uses .get with the unk id; dtype long even for an empty list.",
)
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    unk = stoi["<unk>"]
    return torch.tensor([stoi.get(t, unk) for t in tokens], dtype=torch.long)


@case(
    "encode",
    "correct",
    "index_loop_empty_safe",
    "Loops with itos.index and builds the tensor with torch.empty(T, dtype=long).",
)
def encode(tokens, itos):
    out = torch.empty(len(tokens), dtype=torch.long)
    unk = itos.index("<unk>")
    for i, t in enumerate(tokens):
        out[i] = itos.index(t) if t in itos else unk
    return out


@case("encode", "mistake", "unknown_to_pad", "Tokens not in the vocabulary get id 0.")
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, 0) for t in tokens], dtype=torch.long)


@case(
    "encode",
    "mistake",
    "empty_is_float",
    "I call torch.tensor(list) without a dtype, so an empty token list gives a float tensor.",
)
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, stoi["<unk>"]) for t in tokens])


@case("encode", "mistake", "unk_hardcoded_1", "I wrote 1 for '<unk>' instead of looking its id up in itos.")
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, 1) for t in tokens], dtype=torch.long)


@case("encode", "mistake", "keyerror_on_unknown", "I index the dict directly, so an unknown token raises KeyError.")
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi[t] for t in tokens], dtype=torch.long)


@case("encode", "mistake", "int32", "I returned an int32 tensor.")
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return torch.tensor([stoi.get(t, stoi["<unk>"]) for t in tokens], dtype=torch.int32)


@case("encode", "mistake", "returns_list", "I returned a Python list of ids instead of a tensor.")
def encode(tokens, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    return [stoi.get(t, stoi["<unk>"]) for t in tokens]


# ---------------------------------------------------------------- decode
@case(
    "decode",
    "correct",
    "pad_id_lookup",
    "Looks the pad id up in itos and filters with a comprehension over ids.tolist().",
)
def decode(ids, itos):
    pad = itos.index("<pad>")
    return [itos[i] for i in ids.tolist() if i != pad]


@case("decode", "correct", "tensor_mask", "Drops the pad ids with a boolean mask first, then maps the rest.")
def decode(ids, itos):
    ids = torch.as_tensor(ids).reshape(-1)
    keep = ids[ids != itos.index("<pad>")]
    return [itos[int(i)] for i in keep]


@case("decode", "mistake", "strip_trailing_only", "I only remove the padding at the end of the sequence.")
def decode(ids, itos):
    toks = [itos[i] for i in ids.tolist()]
    while toks and toks[-1] == "<pad>":
        toks.pop()
    return toks


@case("decode", "mistake", "drop_all_specials", "I drop every special token (<bos>, <eos>, <unk> too), not only <pad>.")
def decode(ids, itos):
    return [itos[i] for i in ids.tolist() if itos[i] not in SPECIALS]


@case("decode", "mistake", "stop_at_first_pad", "I stop reading at the first <pad>, losing tokens that come after one.")
def decode(ids, itos):
    out = []
    for i in ids.tolist():
        if itos[i] == "<pad>":
            break
        out.append(itos[i])
    return out


@case("decode", "mistake", "keeps_pad", "I map every id back to its token, pads included.")
def decode(ids, itos):
    return [itos[i] for i in ids.tolist()]


@case("decode", "mistake", "joined_string", "I return the tokens joined with spaces as one string.")
def decode(ids, itos):
    return " ".join(itos[i] for i in ids.tolist() if itos[i] != "<pad>")


@case("decode", "mistake", "pad_hardcoded_zero", "I drop id 0 assuming it is always <pad>.")
def decode(ids, itos):
    return [itos[i] for i in ids.tolist() if i != 0]


# ---------------------------------------------------------------- one_hot
# Exercise 4 now takes padding_idx (issue 23: one_hot(ids, V) was one idea; the padded positions' vectors are the
# derivative of nn.Embedding's lookup with padding_idx, all zeros). The blind cases below are the blind suite's ideas
# carried over to that contract by the course's authors (not blind): each keeps its own way or its own mistake and
# zeroes the padded positions (with the same kind of operation it already used).
def _unpadded(ids, padding_idx):
    """(..., 1) mask: 0 at the positions of padding_idx, 1 elsewhere (all ones without padding_idx)."""
    keep = torch.ones_like(ids, dtype=torch.bool) if padding_idx is None else ids != padding_idx
    return keep.unsqueeze(-1)


@case("one_hot", "correct", "scatter", "zeros(..., V) on the ids' device, then scatter_ ones along the last axis.")
def one_hot(ids, V, padding_idx=None):
    out = torch.zeros(*ids.shape, V, device=ids.device)
    out.scatter_(-1, ids.unsqueeze(-1), 1.0)
    return out * _unpadded(ids, padding_idx)


@case(
    "one_hot", "correct", "eye_index", "Indexes the rows of an identity matrix (its padding row zeroed) with the ids."
)
def one_hot(ids, V, padding_idx=None):
    table = torch.eye(V, device=ids.device)
    if padding_idx is not None:
        table[padding_idx] = 0.0
    return table[ids]


@case(
    "one_hot",
    "correct",
    "compare_arange_to_dtype",
    "Compares with arange(V) and converts with .to(torch.get_default_dtype()).",
)
def one_hot(ids, V, padding_idx=None):
    hits = (ids.unsqueeze(-1) == torch.arange(V, device=ids.device)) & _unpadded(ids, padding_idx)
    return hits.to(torch.get_default_dtype())


@case("one_hot", "mistake", "long_output", "I left the result as integers (long) instead of floats.")
def one_hot(ids, V, padding_idx=None):
    return ((ids[..., None] == torch.arange(V, device=ids.device)) & _unpadded(ids, padding_idx)).long()


@case("one_hot", "mistake", "flattened", "I build (number of ids, V): for a 2-D batch of ids the batch shape is lost.")
def one_hot(ids, V, padding_idx=None):
    flat = ids.reshape(-1)
    out = torch.zeros(len(flat), V, device=ids.device)
    out[torch.arange(len(flat)), flat] = 1.0
    return out * _unpadded(flat, padding_idx)


@case("one_hot", "mistake", "transposed", "I compared arange(V)[:, None] with ids, giving (V, T) instead of (T, V).")
def one_hot(ids, V, padding_idx=None):
    keep = torch.ones_like(ids, dtype=torch.bool) if padding_idx is None else ids != padding_idx
    return ((torch.arange(V, device=ids.device)[:, None] == ids) & keep).float()


@case("one_hot", "mistake", "V_from_data", "I used ids.max() + 1 as the number of classes instead of V.")
def one_hot(ids, V, padding_idx=None):
    n = int(ids.max()) + 1
    return ((ids[..., None] == torch.arange(n, device=ids.device)) & _unpadded(ids, padding_idx)).float()


@case("one_hot", "mistake", "cpu_arange", "torch.arange(V) is created on the CPU, so ids on a GPU fail.")
def one_hot(ids, V, padding_idx=None):
    return ((ids[..., None] == torch.arange(V)) & _unpadded(ids, padding_idx)).float()


@case("one_hot", "mistake", "uses_F_one_hot", "I used F.one_hot although the exercise asks not to (numerically right).")
def one_hot(ids, V, padding_idx=None):
    return F.one_hot(ids, V).float() * _unpadded(ids, padding_idx)


# ---------------------------------------------------------------- make_windows
@case(
    "make_windows",
    "correct",
    "unfold_drop_last",
    "unfold(0, window, 1) drops its last window; targets series[window:].",
)
def make_windows(series, window):
    return series.unfold(0, window, 1)[:-1], series[window:]


@case(
    "make_windows",
    "correct",
    "index_matrix",
    "Builds an index matrix arange(T-w)[:, None] + arange(w) and indexes once.",
)
def make_windows(series, window):
    n = series.shape[0] - window
    idx = torch.arange(n, device=series.device)[:, None] + torch.arange(window, device=series.device)
    return series[idx], series[window : window + n]


@case("make_windows", "correct", "stack_loop", "A Python loop of slices, stacked; empty case handled with new_empty.")
def make_windows(series, window):
    n = series.shape[0] - window
    if n <= 0:
        return series.new_empty(0, window), series.new_empty(0)
    X = torch.stack([series[i : i + window] for i in range(n)])
    Y = torch.stack([series[i + window] for i in range(n)])
    return X, Y


@case(
    "make_windows",
    "mistake",
    "target_last_in_window",
    "My target is the last value of the window, not the one after it.",
)
def make_windows(series, window):
    n = series.shape[0] - window
    X = torch.stack([series[i : i + window] for i in range(n)])
    Y = torch.stack([series[i + window - 1] for i in range(n)])
    return X, Y


@case(
    "make_windows",
    "mistake",
    "one_window_too_many",
    "I keep all T-w+1 windows from unfold and the targets padded with the last value.",
)
def make_windows(series, window):
    X = series.unfold(0, window, 1)
    Y = torch.cat([series[window:], series[-1:]])
    return X, Y


@case(
    "make_windows",
    "mistake",
    "float32_cast",
    "I built the windows with torch.tensor(list) of floats, which turns float64 series into float32.",
)
def make_windows(series, window):
    n = len(series) - window
    X = torch.tensor([[float(series[i + j]) for j in range(window)] for i in range(n)], dtype=torch.float32)
    Y = torch.tensor([float(series[i + window]) for i in range(n)], dtype=torch.float32)
    return X, Y


@case("make_windows", "mistake", "Y_column", "My targets have shape (T - window, 1).")
def make_windows(series, window):
    return series.unfold(0, window, 1)[:-1], series[window:, None]


@case("make_windows", "mistake", "non_overlapping", "I cut the series into non-overlapping windows (stride = window).")
def make_windows(series, window):
    starts = list(range(0, len(series) - window, window))
    X = torch.stack([series[s : s + window] for s in starts])
    Y = torch.stack([series[s + window] for s in starts])
    return X, Y


@case("make_windows", "mistake", "transposed", "I returned X as (window, T - window).")
def make_windows(series, window):
    return series.unfold(0, window, 1)[:-1].T, series[window:]


# ---------------------------------------------------------------- make_char_windows
@case("make_char_windows", "correct", "two_unfolds", "unfold ids[:-1] for X and ids[1:] for Y.")
def make_char_windows(ids, seq_len):
    return ids[:-1].unfold(0, seq_len, 1), ids[1:].unfold(0, seq_len, 1)


@case(
    "make_char_windows",
    "correct",
    "one_unfold_split",
    "unfold windows of seq_len + 1 and split into inputs and shifted targets.",
)
def make_char_windows(ids, seq_len):
    w = ids.unfold(0, seq_len + 1, 1)
    return w[:, :-1].contiguous(), w[:, 1:].contiguous()


@case(
    "make_char_windows",
    "mistake",
    "next_token_only",
    "I copied make_windows: Y[i] is only the single next id ids[i + seq_len], shape (T - L,).",
)
def make_char_windows(ids, seq_len):
    n = len(ids) - seq_len
    X = torch.stack([ids[i : i + seq_len] for i in range(n)])
    return X, ids[seq_len : seq_len + n]


@case(
    "make_char_windows",
    "mistake",
    "roll_wraps",
    "I made the targets with X.roll(-1, dims=1), so each target's last id wraps around to X's first.",
)
def make_char_windows(ids, seq_len):
    X = ids[:-1].unfold(0, seq_len, 1)
    return X, X.roll(-1, dims=1)


@case(
    "make_char_windows",
    "mistake",
    "non_overlapping",
    "I used non-overlapping windows (stride seq_len), as in a batch of chunks.",
)
def make_char_windows(ids, seq_len):
    X = ids[:-1].unfold(0, seq_len, seq_len)
    Y = ids[1:].unfold(0, seq_len, seq_len)
    return X, Y


@case("make_char_windows", "mistake", "float_ids", "I converted the windows to float so they can go into a model.")
def make_char_windows(ids, seq_len):
    return ids[:-1].unfold(0, seq_len, 1).float(), ids[1:].unfold(0, seq_len, 1).float()


@case("make_char_windows", "mistake", "one_row_short", "I loop i in range(T - seq_len - 1), dropping the last window.")
def make_char_windows(ids, seq_len):
    n = len(ids) - seq_len - 1
    X = torch.stack([ids[i : i + seq_len] for i in range(n)])
    Y = torch.stack([ids[i + 1 : i + 1 + seq_len] for i in range(n)])
    return X, Y


@case(
    "make_char_windows",
    "mistake",
    "Y_shifted_back",
    "My targets are shifted the wrong way: Y[i] = ids[i-1 : i-1+L] (clamped at the start).",
)
def make_char_windows(ids, seq_len):
    n = len(ids) - seq_len
    X = torch.stack([ids[i : i + seq_len] for i in range(n)])
    Y = torch.stack([ids[max(i - 1, 0) : max(i - 1, 0) + seq_len] for i in range(n)])
    return X, Y


# ---------------------------------------------------------------- pad_batch
@case("pad_batch", "correct", "full_and_copy", "torch.full with pad_id, copy each row, mask from arange < lengths.")
def pad_batch(seqs, pad_id=0):
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    T = int(lengths.max()) if len(seqs) else 0
    device = seqs[0].device if len(seqs) else None
    padded = torch.full((len(seqs), T), pad_id, dtype=torch.long, device=device)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
    mask = torch.arange(T, device=device)[None, :] < lengths.to(padded.device)[:, None]
    return padded, lengths.to(padded.device), mask


@case(
    "pad_batch",
    "correct",
    "F_pad_stack",
    "F.pad each sequence on the right with value=pad_id, stack; mask from the lengths.",
)
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.stack([F.pad(s, (0, T - len(s)), value=pad_id) for s in seqs]).long()
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long, device=padded.device)
    mask = torch.stack([torch.arange(T, device=padded.device) < len(s) for s in seqs])
    return padded, lengths, mask


@case("pad_batch", "mistake", "pad_front", "I padded at the beginning of each row (left padding).")
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.stack([torch.cat([torch.full((T - len(s),), pad_id, dtype=torch.long), s]) for s in seqs])
    lengths = torch.tensor([len(s) for s in seqs])
    mask = padded != pad_id
    return padded, lengths, mask


@case(
    "pad_batch",
    "mistake",
    "mask_from_values",
    "I computed the mask as padded != pad_id, which is wrong when a real token equals pad_id.",
)
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
    mask = padded != pad_id
    return padded, mask.sum(1), mask


@case(
    "pad_batch",
    "mistake",
    "zeros_float",
    "I started from torch.zeros, so padded is float and the pad value is always 0.",
)
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.zeros(len(seqs), T)
    mask = torch.zeros(len(seqs), T, dtype=torch.bool)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
        mask[n, : len(s)] = True
    return padded, torch.tensor([len(s) for s in seqs]), mask


@case("pad_batch", "mistake", "ignores_pad_id", "I pad with 0 whatever pad_id is.")
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.zeros(len(seqs), T, dtype=torch.long)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
    lengths = torch.tensor([len(s) for s in seqs])
    return padded, lengths, torch.arange(T)[None] < lengths[:, None]


@case("pad_batch", "mistake", "mask_inverted", "My mask is True at the padding.")
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
    lengths = torch.tensor([len(s) for s in seqs])
    return padded, lengths, torch.arange(T)[None] >= lengths[:, None]


@case("pad_batch", "mistake", "mask_long_lengths_list", "My mask is a 0/1 long tensor and lengths a Python list.")
def pad_batch(seqs, pad_id=0):
    T = max(len(s) for s in seqs)
    padded = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for n, s in enumerate(seqs):
        padded[n, : len(s)] = s
    lengths = [len(s) for s in seqs]
    mask = (torch.arange(T)[None] < torch.tensor(lengths)[:, None]).long()
    return padded, lengths, mask


@case(
    "pad_batch",
    "mistake",
    "T_from_first",
    "I took T_max from the first sequence (it is the longest in my examples) and truncated the others.",
)
def pad_batch(seqs, pad_id=0):
    T = len(seqs[0])
    padded = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for n, s in enumerate(seqs):
        padded[n, : min(len(s), T)] = s[:T]
    lengths = torch.tensor([min(len(s), T) for s in seqs])
    return padded, lengths, torch.arange(T)[None] < lengths[:, None]
