# ruff: noqa: F811, F841
# Copied from independent blind suite 4 (written from the learner notebooks' text only, session 5), reformatted by ruff; see ../README.md.
"""Blind cases for notebook 01 (sequence data): build_vocab with max_size, oov_rate, embedding_grad."""

import collections
import itertools

import torch

NB = "01_sequence_data"
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]


# ---------------------------------------------------------------- build_vocab (correct)
def build_vocab_sort_key(sentences, min_freq=1, max_size=None):
    count, first = {}, {}
    for pos, tok in enumerate(itertools.chain.from_iterable(sentences)):
        count[tok] = count.get(tok, 0) + 1
        first.setdefault(tok, pos)
    toks = sorted((t for t in count if count[t] >= min_freq and t not in SPECIALS), key=lambda t: (-count[t], first[t]))
    return SPECIALS[:] + (toks if max_size is None else toks[:max_size])


def build_vocab_most_common_islice(sentences, min_freq=1, max_size=None):
    # Counter.most_common: "Elements with equal counts are ordered in the order first encountered"
    counts = collections.Counter(itertools.chain.from_iterable(sentences))
    kept = (t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS)
    return list(SPECIALS) + list(itertools.islice(kept, max_size))


def build_vocab_buckets(sentences, min_freq=1, max_size=None):
    counts = collections.Counter()
    for s in sentences:
        for t in s:
            counts[t] += 1
    buckets = collections.defaultdict(list)  # count -> tokens in order of first appearance (Counter keeps insertion)
    for t, c in counts.items():
        if c >= min_freq and t not in set(SPECIALS):
            buckets[c].append(t)
    itos = list(SPECIALS)
    limit = float("inf") if max_size is None else max_size
    for c in sorted(buckets, reverse=True):
        for t in buckets[c]:
            if len(itos) - len(SPECIALS) >= limit:
                return itos
            itos.append(t)
    return itos


# ---------------------------------------------------------------- build_vocab (mistakes)
def build_vocab_specials_take_places(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    top = counts.most_common(max_size)  # cut first, then drop the specials: a special of the text took a place
    return list(SPECIALS) + [t for t, c in top if c >= min_freq and t not in SPECIALS]


def build_vocab_size_includes_specials(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    itos = list(SPECIALS) + [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    return itos if max_size is None else itos[:max_size]  # max_size counted the four specials too


def build_vocab_zero_means_no_limit(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    if max_size:  # max_size=0 is falsy: no cut at all
        kept = kept[:max_size]
    return list(SPECIALS) + kept


def build_vocab_keeps_ties_at_cut(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    if max_size is not None and len(kept) > max_size:
        if max_size == 0:
            kept = []
        else:
            threshold = counts[kept[max_size - 1]]  # keeps every token as frequent as the last one in
            kept = [t for t in kept if counts[t] >= threshold]
    return list(SPECIALS) + kept


def build_vocab_alphabetical_ties(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = sorted((t for t in counts if counts[t] >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t))
    return list(SPECIALS) + kept[:max_size]


def build_vocab_reversed_ascending(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = sorted((t for t in counts if counts[t] >= min_freq and t not in SPECIALS), key=lambda t: counts[t])[::-1]
    return list(SPECIALS) + kept[:max_size]  # reversing an ascending stable sort puts later ties first


def build_vocab_position_in_sentence(sentences, min_freq=1, max_size=None):
    count, first = {}, {}
    for s in sentences:
        for j, tok in enumerate(s):  # j restarts in every sentence: not the reading order
            count[tok] = count.get(tok, 0) + 1
            first.setdefault(tok, j)
    toks = sorted((t for t in count if count[t] >= min_freq and t not in SPECIALS), key=lambda t: (-count[t], first[t]))
    return SPECIALS[:] + (toks if max_size is None else toks[:max_size])


def build_vocab_sentence_frequency(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in dict.fromkeys(s))  # sentences containing t
    kept = [t for t, c in counts.most_common() if c >= min_freq and t not in SPECIALS]
    return list(SPECIALS) + kept[:max_size]


def build_vocab_duplicate_specials(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = [t for t, c in counts.most_common() if c >= min_freq]  # '<unk>' of the text listed a second time
    return list(SPECIALS) + kept[:max_size]


def build_vocab_strict_min_freq(sentences, min_freq=1, max_size=None):
    counts = collections.Counter(t for s in sentences for t in s)
    kept = [t for t, c in counts.most_common() if c > min_freq and t not in SPECIALS]
    return list(SPECIALS) + kept[:max_size]


# ---------------------------------------------------------------- oov_rate
def oov_rate_set(sentences, itos):
    vocab = set(itos)
    total = sum(len(s) for s in sentences)
    return sum(t not in vocab for s in sentences for t in s) / total if total else 0.0


def oov_rate_counter(sentences, itos):
    counts = collections.Counter(itertools.chain.from_iterable(sentences))
    total = sum(counts.values())
    if total == 0:
        return 0.0
    vocab = frozenset(itos)
    return float(sum(c for t, c in counts.items() if t not in vocab)) / total


def oov_rate_stoi(sentences, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    hits = [stoi.get(t, -1) for s in sentences for t in s]
    return hits.count(-1) / len(hits) if hits else 0.0


def oov_rate_mean_of_sentences(sentences, itos):
    vocab = set(itos)
    rates = [sum(t not in vocab for t in s) / len(s) for s in sentences if s]
    return sum(rates) / len(rates) if rates else 0.0


def oov_rate_types(sentences, itos):
    tokens = {t for s in sentences for t in s}  # distinct tokens, not occurrences
    return len(tokens - set(itos)) / len(tokens) if tokens else 0.0


def oov_rate_distinct_missing(sentences, itos):
    vocab = set(itos)
    total = sum(len(s) for s in sentences)
    missing = {t for s in sentences for t in s if t not in vocab}  # a token missing twice counts once
    return len(missing) / total if total else 0.0


def oov_rate_unk_ids(sentences, itos):
    stoi = {t: i for i, t in enumerate(itos)}
    ids = [stoi.get(t, 1) for s in sentences for t in s]  # encode, then count <unk>: a literal '<unk>' counts too
    return ids.count(1) / len(ids) if ids else 0.0


def oov_rate_empty_list_only(sentences, itos):
    if not sentences:  # [[], []] still divides by zero
        return 0.0
    vocab = set(itos)
    return sum(t not in vocab for s in sentences for t in s) / sum(len(s) for s in sentences)


def oov_rate_total_overwritten(sentences, itos):
    vocab = set(itos)
    missing = total = 0
    for s in sentences:
        missing += sum(t not in vocab for t in s)
        total = len(s)  # overwrite instead of accumulate
    return missing / total if total else 0.0


def oov_rate_tensor(sentences, itos):
    vocab = set(itos)
    flags = torch.tensor([t not in vocab for s in sentences for t in s], dtype=torch.float32)
    return flags.mean() if flags.numel() else 0.0  # a 0-d float32 tensor, not a float


def oov_rate_specials_not_vocabulary(sentences, itos):
    vocab = set(itos[4:])  # "the real tokens start at 4": a text's '<eos>' is counted as missing
    total = sum(len(s) for s in sentences)
    return sum(t not in vocab for s in sentences for t in s) / total if total else 0.0


# ---------------------------------------------------------------- embedding_grad (correct)
def embedding_grad_index_add(ids, grad_out, V, padding_idx=None):
    flat = ids.reshape(-1)
    rows = grad_out.reshape(flat.numel(), grad_out.shape[-1])
    dW = torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(0, flat, rows)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def embedding_grad_one_hot(ids, grad_out, V, padding_idx=None):
    one_hot = (ids.reshape(-1, 1) == torch.arange(V, device=ids.device)).to(grad_out.dtype)  # (P, V)
    if padding_idx is not None:
        one_hot[:, padding_idx] = 0
    return one_hot.T @ grad_out.reshape(-1, grad_out.shape[-1])


def embedding_grad_index_put(ids, grad_out, V, padding_idx=None):
    E = grad_out.shape[-1]
    flat = ids.reshape(-1)
    keep = (flat != (-1 if padding_idx is None else padding_idx)).to(grad_out.dtype)  # 0 at padded positions
    return grad_out.new_zeros(V, E).index_put_((flat,), grad_out.reshape(-1, E) * keep[:, None], accumulate=True)


# ---------------------------------------------------------------- embedding_grad (mistakes)
def embedding_grad_plus_equals(ids, grad_out, V, padding_idx=None):
    dW = torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device)
    dW[ids] += grad_out  # a repeated id is written once, not accumulated
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def embedding_grad_padding_ignored(ids, grad_out, V, padding_idx=None):
    flat = ids.reshape(-1)
    return torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(
        0, flat, grad_out.reshape(flat.numel(), -1)
    )


def embedding_grad_padding_zero_falsy(ids, grad_out, V, padding_idx=None):
    flat = ids.reshape(-1)
    dW = torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(
        0, flat, grad_out.reshape(flat.numel(), -1)
    )
    if padding_idx:  # padding_idx = 0 is falsy
        dW[padding_idx] = 0
    return dW


def embedding_grad_pad_id_hard_coded(ids, grad_out, V, padding_idx=None):
    flat = ids.reshape(-1)
    dW = torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(
        0, flat, grad_out.reshape(flat.numel(), -1)
    )
    dW[0] = 0  # the course's PAD_ID, whatever padding_idx says
    return dW


def embedding_grad_zeroes_grad_out(ids, grad_out, V, padding_idx=None):
    if padding_idx is not None:
        grad_out[ids == padding_idx] = 0  # right numbers, but the caller's grad_out is changed
    flat = ids.reshape(-1)
    return torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(
        0, flat, grad_out.reshape(flat.numel(), -1)
    )


def embedding_grad_loop_float32(ids, grad_out, V, padding_idx=None):
    dW = torch.zeros(V, grad_out.shape[-1])  # default dtype, on the CPU
    for i, g in zip(ids.reshape(-1).tolist(), grad_out.reshape(-1, grad_out.shape[-1])):
        if i != padding_idx:
            dW[i] += g
    return dW


def embedding_grad_cpu_one_hot(ids, grad_out, V, padding_idx=None):
    one_hot = (ids.reshape(-1, 1) == torch.arange(V)).to(grad_out.dtype)  # arange on the CPU
    if padding_idx is not None:
        one_hot[:, padding_idx] = 0
    return one_hot.T @ grad_out.reshape(-1, grad_out.shape[-1])


def embedding_grad_transposed(ids, grad_out, V, padding_idx=None):
    one_hot = (ids.reshape(-1, 1) == torch.arange(V, device=ids.device)).to(grad_out.dtype)
    if padding_idx is not None:
        one_hot[:, padding_idx] = 0
    return grad_out.reshape(-1, grad_out.shape[-1]).T @ one_hot  # (E, V): dW transposed


def embedding_grad_batch_only(ids, grad_out, V, padding_idx=None):
    flat = ids.flatten()
    rows = grad_out.flatten(0, 1)  # right for ids (N, T) only
    dW = torch.zeros(V, rows.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(0, flat, rows)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def embedding_grad_scaled_by_freq(ids, grad_out, V, padding_idx=None):
    flat = ids.reshape(-1)
    dW = torch.zeros(V, grad_out.shape[-1], dtype=grad_out.dtype, device=grad_out.device).index_add_(
        0, flat, grad_out.reshape(flat.numel(), -1)
    )
    counts = torch.bincount(flat, minlength=V).clamp(min=1).to(dW.dtype)
    dW = dW / counts[:, None]  # averages a token's positions (nn.Embedding's scale_grad_by_freq, not the default)
    if padding_idx is not None:
        dW[padding_idx] = 0
    return dW


def _c(exercise, kind, name, what, fn):
    return dict(notebook=NB, exercise=exercise, kind=kind, name=name, what=what, fn=fn)


CASES = [
    _c(
        "build_vocab",
        "correct",
        "sort_key_then_slice",
        "counts and first positions by hand, sort by (-count, first), slice.",
        build_vocab_sort_key,
    ),
    _c(
        "build_vocab",
        "correct",
        "most_common_islice",
        "Counter.most_common (ties in insertion order), specials filtered, itertools.islice(max_size).",
        build_vocab_most_common_islice,
    ),
    _c(
        "build_vocab",
        "correct",
        "count_buckets",
        "tokens bucketed by count in first-seen order, buckets read from the highest, stop at max_size.",
        build_vocab_buckets,
    ),
    _c(
        "build_vocab",
        "mistake",
        "specials_take_places",
        "most_common(max_size) first, specials dropped after: a special of the text takes a place.",
        build_vocab_specials_take_places,
    ),
    _c(
        "build_vocab",
        "mistake",
        "size_includes_specials",
        "cuts the whole list at max_size, specials included.",
        build_vocab_size_includes_specials,
    ),
    _c(
        "build_vocab",
        "mistake",
        "zero_means_no_limit",
        "`if max_size:` treats max_size=0 as no limit.",
        build_vocab_zero_means_no_limit,
    ),
    _c(
        "build_vocab",
        "mistake",
        "keeps_ties_at_cut",
        "keeps every token tied with the last one in (more than max_size).",
        build_vocab_keeps_ties_at_cut,
    ),
    _c("build_vocab", "mistake", "alphabetical_ties", "ties broken alphabetically.", build_vocab_alphabetical_ties),
    _c(
        "build_vocab",
        "mistake",
        "reversed_ascending",
        "ascending sort reversed: ties in reverse order of appearance.",
        build_vocab_reversed_ascending,
    ),
    _c(
        "build_vocab",
        "mistake",
        "position_in_sentence",
        "first appearance measured by the position inside its sentence.",
        build_vocab_position_in_sentence,
    ),
    _c(
        "build_vocab",
        "mistake",
        "sentence_frequency",
        "counts sentences containing the token, not occurrences.",
        build_vocab_sentence_frequency,
    ),
    _c(
        "build_vocab",
        "mistake",
        "duplicate_specials",
        "does not drop specials of the text: '<unk>' listed twice.",
        build_vocab_duplicate_specials,
    ),
    _c("build_vocab", "mistake", "strict_min_freq", "count > min_freq instead of >=.", build_vocab_strict_min_freq),
    _c("oov_rate", "correct", "set_generator", "set(itos), a generator of booleans, sum of lengths.", oov_rate_set),
    _c(
        "oov_rate", "correct", "counter", "Counter of the tokens, counts of the missing types summed.", oov_rate_counter
    ),
    _c("oov_rate", "correct", "stoi_get", "stoi.get(t, -1) and list.count(-1).", oov_rate_stoi),
    _c("oov_rate", "mistake", "mean_of_sentences", "mean of the sentences' own rates.", oov_rate_mean_of_sentences),
    _c("oov_rate", "mistake", "types", "distinct tokens, not occurrences.", oov_rate_types),
    _c(
        "oov_rate",
        "mistake",
        "distinct_missing",
        "a token missing twice counts once (set of missing tokens over all occurrences).",
        oov_rate_distinct_missing,
    ),
    _c(
        "oov_rate",
        "mistake",
        "unk_ids",
        "encodes and counts id 1: a literal '<unk>' of the text counts as missing.",
        oov_rate_unk_ids,
    ),
    _c(
        "oov_rate",
        "mistake",
        "empty_list_only",
        "returns 0.0 for [] but divides by zero for [[], []].",
        oov_rate_empty_list_only,
    ),
    _c(
        "oov_rate",
        "mistake",
        "total_overwritten",
        "total = len(s) inside the loop (last sentence only).",
        oov_rate_total_overwritten,
    ),
    _c("oov_rate", "mistake", "tensor_result", "returns a 0-d float32 tensor instead of a float.", oov_rate_tensor),
    _c(
        "oov_rate",
        "mistake",
        "specials_not_vocabulary",
        "checks itos[4:] only: a special of the text counts as missing.",
        oov_rate_specials_not_vocabulary,
    ),
    _c(
        "embedding_grad",
        "correct",
        "index_add",
        "zeros, index_add_ of the flattened rows, padding row zeroed.",
        embedding_grad_index_add,
    ),
    _c(  # written as correct by the blind writer; since session 6 the contract rules the (P, V) matrix out
        "embedding_grad",
        "mistake",
        "one_hot_matmul",
        "broadcast one-hot (P, V) on ids' device, padding column zeroed, one_hot.T @ G.",
        embedding_grad_one_hot,
    ),
    _c(
        "embedding_grad",
        "correct",
        "index_put_accumulate",
        "padded positions weighted by 0, new_zeros(V, E).index_put_(accumulate=True).",
        embedding_grad_index_put,
    ),
    _c(
        "embedding_grad",
        "mistake",
        "plus_equals",
        "dW[ids] += grad_out: repeated ids are not accumulated.",
        embedding_grad_plus_equals,
    ),
    _c("embedding_grad", "mistake", "padding_ignored", "padding_idx not handled.", embedding_grad_padding_ignored),
    _c(
        "embedding_grad",
        "mistake",
        "padding_zero_falsy",
        "`if padding_idx:` skips padding_idx = 0.",
        embedding_grad_padding_zero_falsy,
    ),
    _c(
        "embedding_grad",
        "mistake",
        "pad_id_hard_coded",
        "zeroes row 0 whatever padding_idx is.",
        embedding_grad_pad_id_hard_coded,
    ),
    _c(
        "embedding_grad",
        "mistake",
        "zeroes_grad_out_in_place",
        "zeroes grad_out at the padded positions in place (the caller's tensor changes).",
        embedding_grad_zeroes_grad_out,
    ),
    _c(
        "embedding_grad",
        "mistake",
        "loop_default_dtype",
        "a loop into torch.zeros(V, E): float32 on the CPU whatever grad_out is.",
        embedding_grad_loop_float32,
    ),
    _c(
        "embedding_grad",
        "mistake",
        "one_hot_arange_on_cpu",
        "one-hot with torch.arange(V) on the CPU: fails for ids on another device.",
        embedding_grad_cpu_one_hot,
    ),
    _c("embedding_grad", "mistake", "transposed", "grad.T @ one_hot: returns (E, V).", embedding_grad_transposed),
    _c(
        "embedding_grad",
        "mistake",
        "batch_shape_only",
        "flatten(0, 1): right for ids (N, T) only (fails on (T,), 0-d, 3-d).",
        embedding_grad_batch_only,
    ),
    _c(
        "embedding_grad",
        "mistake",
        "scaled_by_freq",
        "divides each row by the token's count (scale_grad_by_freq).",
        embedding_grad_scaled_by_freq,
    ),
]
