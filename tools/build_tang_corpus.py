"""Build ``course_lib/data/files/tang5.tsv.xz``: the five-character Tang poems of the *Complete Tang Poems*.

Source: the public ``chinese-poetry/chinese-poetry`` repository on GitHub (MIT licence, Copyright (c) 2016
JackeyGao), files ``全唐诗/poet.tang.*.json`` -- the *Complete Tang Poems* (全唐诗, 1705) in traditional
characters, one JSON list of ``{"author", "title", "paragraphs", "id"}`` per file.

What the build does, in order:

1. reads every ``poet.tang.*.json`` from a checkout or a bare git directory of that repository;
2. converts title, author and text to simplified characters with OpenCC's ``t2s`` table
   (``opencc-python-reimplemented``; a build-time tool, not a dependency of ``course_lib``);
3. keeps *regular* five-character poems only: 4 or 8 lines (五言绝句, 五言律诗) of exactly five Han
   characters each, lines joined by the editions' '，' (odd lines) and '。' (even lines), no editorial marks
   (missing characters □, variant readings in brackets, notes);
4. drops exact duplicates (the first occurrence wins, in file order);
5. assigns a fixed split by poem: ``train`` / ``valid`` / ``test`` = 80 / 10 / 10 % by the SHA-256 of the
   text, except that a poem opening like one of the 72 course poems (``course_lib.data.poems``) is always
   ``train`` -- so the held-out poems are ones no model in the course has seen;
6. writes ``split<TAB>title<TAB>author<TAB>text`` lines, xz-compressed, and prints the counts.

The split is stored in the file, so it never depends on this script or the seed of whoever loads it.

Usage::

    pip install opencc-python-reimplemented
    python tools/build_tang_corpus.py /path/to/chinese-poetry          # a checkout or a bare git dir
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
OUT = REPO / "course_lib" / "data" / "files" / "tang5.tsv.xz"
POEM = re.compile(
    r"^(?:[\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。){2}(?:(?:[\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}。){2})?$"
)


def _sources(root: pathlib.Path) -> list[tuple[str, list[dict]]]:
    """(name, poems) of every poet.tang.*.json, in numeric order, from a checkout or a bare git dir."""
    folder = root / "全唐诗"
    if folder.is_dir():
        files = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("poet.tang.*.json")}
    else:
        git = ["git", "-c", "core.quotepath=off", "--git-dir", str(root)]
        names = subprocess.run(
            git + ["ls-tree", "--name-only", "HEAD", "全唐诗/"], check=True, capture_output=True, text=True
        ).stdout.split()
        files = {
            n.split("/")[-1]: subprocess.run(
                git + ["show", f"HEAD:{n}"], check=True, capture_output=True, text=True
            ).stdout
            for n in names
            if re.search(r"/poet\.tang\.\d+\.json$", n)
        }
    if not files:
        sys.exit(f"no 全唐诗/poet.tang.*.json under {root}")
    order = sorted(files, key=lambda n: int(n.split(".")[2]))
    return [(n, json.loads(files[n])) for n in order]


def _split(text: str, course_openings: set[str]) -> str:
    if text[:5] in course_openings:
        return "train"
    bucket = int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 10
    return "valid" if bucket == 8 else "test" if bucket == 9 else "train"


def build(root: pathlib.Path) -> list[tuple[str, str, str, str]]:
    import opencc  # build-time only

    sys.path.insert(0, str(REPO))
    from course_lib.data.poems import poems

    t2s = opencc.OpenCC("t2s")
    course_openings = {p.text[:5] for p in poems()}
    seen, rows = set(), []
    for _, items in _sources(root):
        for item in items:
            text = t2s.convert("".join(item.get("paragraphs", [])).strip())
            if not POEM.match(text) or text in seen:
                continue
            seen.add(text)
            title = t2s.convert(item.get("title", "")).replace("\t", " ").strip()
            author = t2s.convert(item.get("author", "")).replace("\t", " ").strip()
            rows.append((_split(text, course_openings), title, author, text))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=pathlib.Path, help="a checkout or bare git dir of chinese-poetry")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    rows = build(args.source)
    payload = "".join("\t".join(row) + "\n" for row in rows).encode("utf-8")
    args.out.write_bytes(lzma.compress(payload, preset=9 | lzma.PRESET_EXTREME))
    counts = {s: sum(r[0] == s for r in rows) for s in ("train", "valid", "test")}
    quatrains = sum(len(r[3]) == 24 for r in rows)
    print(
        f"{len(rows)} poems ({quatrains} quatrains, {len(rows) - quatrains} regulated verse) {counts}; "
        f"{len(payload) / 1e6:.2f} MB -> {args.out.stat().st_size / 1e6:.2f} MB at {args.out}"
    )


if __name__ == "__main__":
    main()
