"""Make a submission's HTML inert before anybody's browser renders it.

nbgrader's formgrader and its feedback pages render a markdown cell with ``markdown2html`` and no
sanitizer, and nbconvert keeps raw HTML (``<script>``, ``onerror=``, ``javascript:`` links).  A learner's
written answer holding such HTML would run in the instructor's browser while the instructor grades it, on
the Jupyter server's own origin -- from where the server's API can run code as the instructor and change
the gradebook.  So the grader, in its own process, checks what the learner could write:

- a markdown cell whose rendered HTML is not inert is shown as its text, in a code block, with a note;
- a ``text/html`` or ``text/markdown`` output that is not inert is dropped (its ``text/plain`` stays).

"Inert" is an allowlist, not a list of known attacks: only the tags and attributes that markdown and
plain formatting produce, URLs of the ``http(s)``, ``mailto``, relative and ``#anchor`` kinds (plus
``data:image/...`` for an image's ``src``), and no ``javascript:`` anywhere (MathJax's ``\\href`` reads
it in math too).  The course's own notebooks pass it (tests/grading/test_inert.py).

Reference: the OWASP XSS prevention cheat sheet (allowlists over blocklists).
"""

from __future__ import annotations

import html as html_text
import re
from html.parser import HTMLParser

from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

__all__ = ["unsafe_html", "unsafe_markdown", "inert_markdown", "make_inert"]

ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br caption center cite code col colgroup dd del details div dl dt em figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr i img input ins kbd li mark ol p pre q s samp small span strike strong sub summary sup "
    "table tbody td tfoot th thead tr tt u ul var".split())
ALLOWED_ATTRIBUTES = frozenset(
    "align alt border cellpadding cellspacing checked class colspan dir disabled height href id lang name open rowspan scope "
    "span src start style title type valign width".split())
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_URL = re.compile(r"^(?:https?:|mailto:|attachment:|#|/|\.|[^:/?#]*(?:[/?#]|$))", re.I)
SAFE_IMAGE_DATA = re.compile(r"^data:image/(?:png|jpe?g|gif|webp|bmp|svg\+xml);base64,", re.I)  # an <img> runs no script
# Browsers drop ASCII whitespace and control characters inside a scheme: "java\tscript:" is javascript:.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_SCRIPT_SCHEME = re.compile(r"(?:java|vb)script\s*:", re.I)
_BAD_CSS = re.compile(r"expression\s*\(|url\s*\(|@import|behavior\s*:|-moz-binding", re.I)


class _Inspector(HTMLParser):
    """Collects the first reason a piece of HTML is not inert."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.reason: str | None = None
        self.verbatim = 0  # depth inside <pre>/<code>, where MathJax reads nothing

    def handle_endtag(self, tag):
        if tag in ("pre", "code"):
            self.verbatim = max(0, self.verbatim - 1)

    def handle_data(self, data):
        if not self.verbatim and (reason := _script_url(data)):  # MathJax turns \href{javascript:...} into a link
            self._flag(reason)

    def _flag(self, reason: str) -> None:
        self.reason = self.reason or reason

    def handle_starttag(self, tag, attrs):
        self.verbatim += tag in ("pre", "code")
        if tag not in ALLOWED_TAGS:
            self._flag(f"the tag <{tag}>")
        for name, value in attrs:
            value = value or ""
            if name not in ALLOWED_ATTRIBUTES:
                self._flag(f"the attribute {name}= on <{tag}>")
            elif name in URL_ATTRIBUTES:
                url = _IGNORED_IN_URL.sub("", value)
                if not (SAFE_URL.match(url) or (name == "src" and SAFE_IMAGE_DATA.match(url))):
                    self._flag(f"a {name}= URL that is not http(s), relative or an image")
            elif name == "style" and _BAD_CSS.search(value):
                self._flag("a style= that loads or runs something")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_pi(self, data):
        self._flag("an XML processing instruction")

    def unknown_decl(self, data):
        self._flag("an unknown HTML declaration")


def _script_url(text: str) -> str | None:
    """A javascript: URL anywhere in ``text``, written plainly or with character references."""
    for variant in (text, html_text.unescape(text)):
        if _SCRIPT_SCHEME.search(_IGNORED_IN_URL.sub("", variant)):
            return "a script URL (javascript or vbscript)"
    return None


def unsafe_html(html: str) -> str | None:
    """Why ``html`` is not inert (a short phrase), or None when every tag and attribute is allowed."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.reason


def unsafe_markdown(source: str, attachments: dict | None = None) -> str | None:
    """Why the HTML that ``source`` renders to (as nbconvert renders it for formgrader) is not inert, or None."""
    try:
        rendered = MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments or {})).render(source)
    except Exception as error:  # whatever the renderer chokes on is not shown as HTML either
        return f"markdown that could not be rendered ({type(error).__name__})"
    return unsafe_html(rendered)


def inert_markdown(source: str, reason: str) -> str:
    """``source`` shown as text: a fenced code block (no HTML is rendered inside one) after a note."""
    longest = max((len(run) for run in re.findall(r"`+|~+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    reason = html_text.escape(reason)
    note = (f"*course grade: this cell's HTML was turned off ({reason}); it could run code in the browser of "
            f"whoever reads it. Its text, as handed in:*")
    text = f"{note}\n\n{fence}text\n{source}\n{fence}\n"
    if unsafe_markdown(text) is None:
        return text
    return f"*course grade: this cell's HTML was turned off ({reason}); the original is in submitted/.*\n"


def make_inert(nb) -> list[str]:
    """Turn off every learner-writable piece of HTML in ``nb`` (in place); returns what was turned off."""
    changes = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            reason = unsafe_markdown(cell.source, cell.get("attachments"))
            if reason is not None:
                cell.source = inert_markdown(cell.source, reason)
                cell.pop("attachments", None)
                changes.append(f"cell {index} (markdown): HTML turned off, {reason}")
        elif cell.cell_type == "raw" and cell.get("metadata", {}).get("format", "").lower() in ("text/html", "html"):
            reason = unsafe_html(cell.source)
            if reason is not None:
                cell.source = ""
                changes.append(f"cell {index} (raw HTML): emptied, {reason}")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime, check in (("text/html", unsafe_html), ("text/markdown", unsafe_markdown),
                                ("text/latex", _script_url)):
                if mime in data:
                    text = data[mime] if isinstance(data[mime], str) else "".join(data[mime])
                    reason = check(text)
                    if reason is not None:
                        del data[mime]
                        changes.append(f"cell {index}: a {mime} output dropped, {reason}")
    return changes

