"""Make a submission's HTML inert before anybody's browser renders it.

nbgrader's formgrader and its feedback pages render a markdown cell with ``markdown2html`` (nbconvert's
``IPythonRenderer``, ``escape=False``) and no sanitizer; ``text/html`` and ``text/markdown`` outputs are
inserted as they are, ``text/latex`` is escaped but then read by MathJax.  A learner's written answer holding
HTML that runs would run in the instructor's browser while the instructor grades it, on the Jupyter
server's own origin -- from where the server's API can run code as the instructor and change the gradebook.

The decision "inert or not" is made by nh3 (ammonia on html5ever, the HTML5 parser of Servo), which parses
as a browser does: comment, CDATA, foreign-content (SVG/MathML) and character-reference tricks that fool a
hand-written parser are read the way Chromium reads them.  For a piece of HTML ``h`` (a markdown cell after
rendering with the renderer nbgrader's templates use, or an output):

    strict(h) = nh3 with the course's allowlist          (what may be shown)
    lax(h)    = nh3 keeping every tag, attribute and URL  (what a browser would build from h, serialised
                                                            the same way)
    inert(h)  <=>  strict(h) == lax(h)  and  no script URL / MathJax styling in its text

so what is judged inert is exactly what nh3 would keep, and anything nh3 removes is named.  Then:

- a markdown cell that is not inert is shown as its text, in a code block, with a note naming what was
  removed (its original is kept in ``submitted/`` and ``.course/originals``);
- a ``text/html`` output that is not inert is replaced by nh3's sanitized HTML (a ``text/markdown``,
  ``text/latex`` or ``image/svg+xml`` one is dropped; its ``text/plain`` stays);
- cell tags (nbconvert writes them into a ``class=``) that are not plain words are removed.

Allowed: the tags markdown and plain formatting produce; ``http(s)``, ``mailto``, relative and ``#anchor``
URLs (``data:image/...`` for an image's ``src``); ``style=`` with colour and font properties only (nothing
that positions, sizes or moves a box, so no overlay); ``class=`` with code-highlighting and table classes
only (formgrader's Bootstrap has classes that position); no ``javascript:`` anywhere (MathJax's ``\\href``
reads it in math too); in any text MathJax reads, no macro definition and no MathJax command that links,
styles, loads or reaches the DOM (``\\href``, ``\\style``, ``\\unicode``, ``\\mmlToken``, ``\\bbox``, ...), and
colours by name or hex code only, so that no URL or style reaches the page whatever MathJax's extensions do.
Raw cells are judged as nbconvert shows them (``raw_mimetype`` text/html or none); a notebook's widget state
and widget outputs are removed (nbconvert's page loads an unpinned script from a CDN for them).  The course's
own notebooks pass unchanged (tests/grading/task/test_inert.py).

Reference: the OWASP XSS prevention cheat sheet (allowlists over blocklists, a maintained sanitizer).
"""

from __future__ import annotations

import dataclasses
import html as html_text
import re
import string
import time
from html.parser import HTMLParser

import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

__all__ = [
    "OVER_BUDGET",
    "Budget",
    "inert_markdown",
    "make_inert",
    "sanitize_html",
    "unsafe_html",
    "unsafe_markdown",
    "unsafe_svg",
]

ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br caption center cite code col colgroup dd del details div dl dt em figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr i img input ins kbd li mark ol p pre q s samp small span strike strong sub summary sup "
    "table tbody td tfoot th thead tr tt u ul var".split()
)
ALLOWED_ATTRIBUTES = frozenset(
    "align alt border cellpadding cellspacing checked class colspan dir disabled height href id lang name open "
    "rowspan scope span src start style title type valign width".split()
)
# CSS properties a style= may keep: colour and type, nothing that positions, sizes, moves or layers a box.
ALLOWED_CSS = frozenset(
    "color background-color font-weight font-style font-family font-variant text-decoration text-align "
    "vertical-align white-space".split()
)
# Pygments' token classes (k, nf, s1 ...), its wrappers, pandas' tables, markdown's anchors and code languages.
SAFE_CLASS = re.compile(
    r"^(?:[a-z]{1,2}[0-9]?|highlight|hl-[\w-]+|language-[\w-]+|anchor-link|dataframe|"
    r"task-list-item(?:-checkbox)?)$"
)
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "data"})  # data: only for an image's src (_keep_attribute)
SAFE_IMAGE_DATA = re.compile(
    r"^data:image/(?:png|jpe?g|gif|webp|bmp|svg\+xml);base64,", re.IGNORECASE
)  # an <img> runs no script
SVG_TAGS = frozenset(
    "svg g path rect circle ellipse line polyline polygon text tspan title desc defs "
    "lineargradient radialgradient stop clippath".split()
)
SVG_ATTRIBUTES = frozenset(
    "viewbox width height x y x1 y1 x2 y2 cx cy r rx ry d points fill stroke stroke-width stroke-linecap "
    "stroke-linejoin stroke-dasharray opacity fill-opacity stroke-opacity transform font-size font-family "
    "text-anchor offset stop-color id version xmlns viewBox".split()
)

# What ``lax`` keeps on top of whatever names the text holds: every element, attribute and URL scheme that
# runs, loads or positions something, so that removing one always makes strict and lax differ.
_KNOWN_TAGS = (
    frozenset(
        "a abbr address animate animatemotion animatetransform applet area article aside audio b base basefont bdi bdo "
        "bgsound big blink blockquote body br button canvas caption center cite code col colgroup data datalist dd "
        "del details dfn dialog dir div dl dt em embed fieldset figcaption figure font footer foreignobject form frame "
        "frameset h1 h2 h3 h4 h5 h6 handler head header hgroup hr html i iframe image img input ins isindex kbd keygen "
        "label layer legend li link listener main map mark marquee math menu menuitem meta meter mglyph mi mn mo ms "
        "mtext nav noembed noframes noscript object ol optgroup option output p param picture plaintext portal pre "
        "progress q rp rt ruby s samp script search section select set slot small source span strike strong style "
        "sub summary sup svg table tbody td template textarea tfoot th thead time title tr track tt u ul use var "
        "video wbr xml xmp xss".split()
    )
    | SVG_TAGS
)
_ANY_ATTRIBUTE = frozenset(string.ascii_letters + string.digits + string.punctuation) - {"=", ">", "/"}
_SCRIPT_SCHEMES = frozenset(
    {
        "javascript",
        "vbscript",
        "livescript",
        "mocha",
        "data",
        "blob",
        "filesystem",
        "file",
        "jar",
        "ms-its",
        "mhtml",
        "feed",
        "view-source",
        "wyciwyg",
        "res",
        "about",
    }
)
_TAG_NAME = re.compile(r"<\s*/?\s*([^\s/>\x00]+)")
_ATTRIBUTE_START = re.compile(r"[\s/\"']([^\s\"'/>=])")
_STYLE_ATTRIBUTE = re.compile(r'style="([^"]*)"')
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)\s*:")
# Browsers drop ASCII whitespace and control characters inside a scheme: "java\tscript:" is javascript:.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_SCRIPT_URL = re.compile(r"(?:java|vb|live)script\s*:", re.IGNORECASE)
# MathJax commands that link, style, name a box, reach the DOM or load code, whatever MathJax's own Safe
# extension does with them: \href and \url (URLs), \style, \class, \cssId, \bbox (CSS), \unicode (a font URL),
# \mmlToken (any MathML attribute), \data... (data- attributes), \require (extensions), \toggle, \mathtip,
# \texttip (actions), and every macro definition (\def, \newcommand...: a definition can split a URL or a
# command name, as \newcommand{\j}{java}\href{\j script:...} does).
_MATHJAX_COMMAND = re.compile(
    r"\\(?:def|edef|gdef|xdef|let|newcommand|renewcommand|providecommand|newenvironment|renewenvironment|"
    r"DeclareMathOperator|require|href|url|style|class|cssId|bbox|unicode|mmlToken|data[A-Za-z]*|toggle|"
    r"mathtip|texttip|action|definecolor|enclose|Newextarrow|setOptions)(?![A-Za-z])"  # enclose: attributes
)
# Colours stay (\color{red}, \textcolor{#c00}{x}) with a name or a hex code as their only argument.
_MATHJAX_COLOUR = re.compile(r"\\(?:color|textcolor|colorbox|fcolorbox|pagecolor)(?![A-Za-z])")
_PLAIN_COLOUR = re.compile(
    r"\\(?:color|textcolor|colorbox|fcolorbox|pagecolor)\s*\{\s*(?:[A-Za-z]{1,20}|#[0-9A-Fa-f]{3,6})\s*\}"
)
SAFE_TAG = re.compile(r"^[\w-]{1,64}$")
# A fragment parser (nh3's) ignores these start tags, but in the page a browser adds their attributes to the
# page's own <html>/<body>: <body onload=...> runs.  Any of them is refused, wherever it is.
# <style> too: nh3 cannot keep a stylesheet while filtering style= (lax drops it with its content), and a
# stylesheet restyles and positions the whole page.
_DOCUMENT_TAG = re.compile(r"<\s*(html|head|body|frameset|frame|style)(?=[\s/>])", re.IGNORECASE)


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: a class keeps its safe names; a data: URL only as an image's source."""
    if attribute == "class":
        kept = " ".join(name for name in value.split() if SAFE_CLASS.match(name))
        return kept or None
    if attribute in ("href", "src") and _IGNORED_IN_URL.sub("", value).lower().startswith("data:"):
        return (
            value
            if tag == "img" and attribute == "src" and SAFE_IMAGE_DATA.match(_IGNORED_IN_URL.sub("", value))
            else None
        )
    return value


def _strict(html: str, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES) -> str:
    return nh3.clean(
        html,
        tags=set(tags),
        attributes={"*": set(attributes)},
        attribute_filter=_keep_attribute,
        url_schemes=set(SAFE_SCHEMES),
        filter_style_properties=set(ALLOWED_CSS),
        link_rel=None,
    )


def _lax(html: str) -> str:
    """nh3 keeping (nearly) everything: the browser's reading of ``html``, serialised like ``_strict``'s."""
    unescaped = _IGNORED_IN_URL.sub("", html_text.unescape(html))
    tags = (_KNOWN_TAGS | {name.lower() for name in _TAG_NAME.findall(html)}) - {"style"}
    prefixes = _ANY_ATTRIBUTE | {first for first in _ATTRIBUTE_START.findall(html)}
    schemes = _SCRIPT_SCHEMES | SAFE_SCHEMES | {s.lower() for s in _SCHEME.findall(unescaped)}
    return nh3.clean(
        html,
        tags=set(tags),
        attributes={},
        generic_attribute_prefixes=prefixes,
        clean_content_tags={"style"},
        url_schemes=schemes,
        link_rel=None,
    )


def _same_styles(serialized: str) -> str:
    """nh3 rewrites a filtered style= ("color: red; x" -> "color:red"): spacing made the same for comparing."""

    def canonical(match: re.Match) -> str:
        declarations = (d.split(":", 1) for d in html_text.unescape(match.group(1)).split(";") if d.strip())
        return 'style="' + html_text.escape(";".join(":".join(p.strip() for p in d) for d in declarations)) + '"'

    return _STYLE_ATTRIBUTE.sub(canonical, serialized)


class _Elements(HTMLParser):
    """The (tag, attribute, value) triples of nh3's canonical serialisation (well-formed: html.parser reads it
    exactly), used only to *name* what the strict pass removed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, "", ""))
        self.found += [(tag, name, value or "") for name, value in attrs]


def _elements(html: str) -> list[tuple[str, str, str]]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def _removed(lax: str, strict: str) -> list[str]:
    """What the strict pass removed from ``lax``, in words (each kind once)."""
    kept = list(_elements(strict))
    removed = []
    for tag, attribute, value in _elements(lax):
        if (tag, attribute, value) in kept:
            kept.remove((tag, attribute, value))
            continue
        if not attribute:
            what = f"the tag <{tag}>"
        elif attribute in ("href", "src") and attribute in ALLOWED_ATTRIBUTES:
            what = f"a {attribute}= URL that is not http(s), relative or an image"
        elif attribute in ("style", "class") and attribute in ALLOWED_ATTRIBUTES:
            what = f"a {attribute}= that positions or restyles the page"
        else:
            what = f"the attribute {attribute}= on <{tag}>"
        if what not in removed:
            removed.append(what)
    return removed or ["HTML that a browser reads differently from how it looks"]


def _text_outside_code(html: str) -> str:
    """The text MathJax reads: everything outside <pre>/<code>, character references decoded."""
    return html_text.unescape(nh3.clean(html, tags=set(), clean_content_tags={"pre", "code", "script", "style"}))


def _script_text(text: str) -> str | None:
    """A javascript: URL or MathJax styling command anywhere in ``text`` (plain or with character references)."""
    for variant in (text, html_text.unescape(text)):
        if _SCRIPT_URL.search(_IGNORED_IN_URL.sub("", variant)):
            return "a script URL (javascript or vbscript)"
        command = _MATHJAX_COMMAND.search(variant)
        if command:
            return f"a MathJax command that defines, links, styles or loads ({command.group(0)[1:]})"  # no backslash: the note shows it
        if len(_MATHJAX_COLOUR.findall(variant)) != len(_PLAIN_COLOUR.findall(variant)):
            return "a MathJax colour that is not a plain colour name or hex code"
    return None


def _judge(html: str, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES) -> tuple[str, list[str]]:
    """(nh3's sanitized ``html``, what it removed -- empty when ``html`` is inert)."""
    strict, lax = _strict(html, tags, attributes), _lax(html)
    removed = [] if _same_styles(strict) == _same_styles(lax) else _removed(lax, strict)
    removed += [f"the tag <{tag.lower()}>" for tag in dict.fromkeys(_DOCUMENT_TAG.findall(html))]
    text_reason = _script_text(_text_outside_code(strict))
    if text_reason:
        removed.append(text_reason)
    return strict, removed


def sanitize_html(html: str) -> str:
    """``html`` with everything outside the allowlist removed (nh3's output)."""
    return _strict(html)


def unsafe_html(html: str) -> str | None:
    """What nh3 removes from ``html`` (a short phrase, several joined by "; "), or None when it is inert."""
    removed = _judge(html)[1]
    return "; ".join(removed) if removed else None


def unsafe_svg(svg: str) -> str | None:
    """What an SVG output holds beyond plain shapes and text (scripts, handlers, links, styles), or None."""
    removed = _judge(svg, SVG_TAGS, SVG_ATTRIBUTES)[1]
    return "; ".join(removed) if removed else None


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """``source`` as formgrader and the feedback page render it (nbconvert's ``HTMLExporter.markdown2html``)."""
    return MarkdownWithMath(renderer=IPythonRenderer(escape=False, attachments=attachments or {})).render(source)


def unsafe_markdown(source: str, attachments: dict | None = None) -> str | None:
    """What nh3 removes from the HTML that ``source`` renders to, or None when it is inert."""
    try:
        rendered = render_markdown(source, attachments)
    except Exception as error:  # whatever the renderer chokes on is not shown as HTML either
        return f"markdown that could not be rendered ({type(error).__name__})"
    return unsafe_html(rendered)


def inert_markdown(source: str, reason: str) -> str:
    """``source`` shown as text: a fenced code block (no HTML is rendered inside one) after a note."""
    longest = max((len(run) for run in re.findall(r"`+|~+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    reason = html_text.escape(reason).replace("\\", "\\\\").replace("$", "\\$").replace("*", "\\*").replace("_", "\\_")
    note = (
        f"*course grade: this cell's HTML was turned off (removed: {reason}); it could run code in the browser "
        f"of whoever reads it. Its text, as handed in:*"
    )
    text = f"{note}\n\n{fence}text\n{source}\n{fence}\n"
    if unsafe_markdown(text) is None:
        return text
    return "*course grade: this cell's HTML was turned off; the original is in submitted/.*\n"


def _text(value) -> str:
    if isinstance(value, str):
        return value
    return "".join(v for v in value if isinstance(v, str)) if isinstance(value, list) else ""


def _raw_is_html(cell) -> bool:
    """Whether nbconvert's HTML exporters put a raw cell into the page as it is: its ``raw_mimetype`` (what
    nbconvert reads) is text/html or empty (``raw_mimetypes`` defaults to the output type and ""); the older
    ``format`` key saying HTML counts too."""
    meta = cell.get("metadata", {})
    mimetype, older = meta.get("raw_mimetype", ""), meta.get("format", "")
    mimetype = mimetype.lower() if isinstance(mimetype, str) else "text/html"
    older = older.lower() if isinstance(older, str) else ""
    return mimetype in ("", "text/html", "html") or older in ("text/html", "html")


def _clean_tags(cell, index: int, changes: list[str]) -> None:
    """nbconvert writes each cell tag into the cell's class= (escaped, but a space starts another class)."""
    tags = cell.get("metadata", {}).get("tags")
    if tags is None:
        return
    kept = [t for t in tags if isinstance(t, str) and SAFE_TAG.match(t)] if isinstance(tags, list) else []
    if kept != tags:
        cell.metadata["tags"] = kept
        changes.append(f"cell {index}: cell tags that are not plain words removed")


def _clean_outputs(cell, index: int, changes: list[str]) -> None:
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if data.pop(_WIDGET_VIEW, None) is not None:  # a widget needs the manager script: its text/plain stays
            changes.append(f"cell {index}: a widget output dropped (it needs a script from a CDN)")
        if "text/html" in data:
            clean, removed = _judge(_text(data["text/html"]))
            if removed and not _script_text(_text_outside_code(clean)):
                data["text/html"] = clean
                changes.append(f"cell {index}: a text/html output sanitized, removed: {'; '.join(removed)}")
            elif removed:
                del data["text/html"]
                changes.append(f"cell {index}: a text/html output dropped, {'; '.join(removed)}")
        for mime, check in (
            ("text/markdown", unsafe_markdown),
            ("text/latex", _script_text),
            ("image/svg+xml", unsafe_svg),
        ):
            if mime in data and (reason := check(_text(data[mime]))) is not None:
                del data[mime]
                changes.append(f"cell {index}: a {mime} output dropped, {reason}")


@dataclasses.dataclass(frozen=True)
class Budget:
    """What :func:`make_inert` checks of one notebook: rendering and sanitizing cost about 5 s of CPU per MB of
    markdown (a 20 MB notebook of tables: minutes), so past ``max_bytes`` of learner-writable text and HTML, or
    ``max_seconds`` of CPU, the rest is turned off unchecked; a single piece over ``max_piece`` bytes is too."""

    max_bytes: int = 2**20
    max_piece: int = 512 * 2**10
    max_seconds: float = 20.0


_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
OVER_BUDGET = "over the grader's limit for written text and HTML"
_RENDERED = ("text/html", "text/markdown", "text/latex", "image/svg+xml", _WIDGET_VIEW)


class _Meter:
    """Bytes and CPU seconds spent on one notebook; says why a piece is not checked, or None."""

    def __init__(self, budget: Budget):
        self.budget, self.used, self.started = budget, 0, time.process_time()
        self.skipped: list[int] = []

    def refuse(self, size: int) -> str | None:
        budget = self.budget
        if size > budget.max_piece:
            return f"{size / 2**20:.1f} MB in one piece, over the {budget.max_piece // 2**10} KB the grader checks"
        if self.used + size > budget.max_bytes:
            return f"the notebook's text and HTML are over the {budget.max_bytes / 2**20:g} MB the grader checks"
        if time.process_time() - self.started > budget.max_seconds:
            return f"checking the notebook's HTML took over {budget.max_seconds:g} s of CPU"
        self.used += size
        return None


def _size(cell) -> int:
    outputs = cell.get("outputs", []) if cell.cell_type == "code" else []
    pieces = [cell.source] + [_text(o.get("data", {})[m]) for o in outputs for m in _RENDERED if m in o.get("data", {})]
    return sum(len(p) for p in pieces)


def _turn_off_unchecked(cell, index: int, why: str, changes: list[str]) -> None:
    """A cell over the budget: nothing of it is rendered as HTML, and nothing of it is parsed to find out."""
    if cell.cell_type == "markdown":
        cell.source = f"*course grade: this cell was not shown ({why}); the original is in submitted/.*\n"
        cell.pop("attachments", None)
    elif cell.cell_type == "raw":
        cell.source = ""
    for output in cell.get("outputs", []):
        for mime in _RENDERED:
            output.get("data", {}).pop(mime, None)
    cell.get("metadata", {}).pop("tags", None)
    changes.append(f"cell {index} ({cell.cell_type}): turned off unchecked, {why}")


def make_inert(nb, budget: Budget = Budget()) -> list[str]:
    """Turn off every learner-writable piece of HTML in ``nb`` (in place); returns what was turned off.

    Past ``budget`` (bytes or CPU seconds), the remaining cells' HTML is turned off unchecked; the last change
    then starts with :data:`OVER_BUDGET` and says how many cells and why (a problem for that student).
    """
    changes: list[str] = []
    meter = _Meter(budget)
    reasons: dict[str, None] = {}
    for index, cell in enumerate(nb.cells):
        why = meter.refuse(_size(cell))
        if why is not None:
            _turn_off_unchecked(cell, index, why, changes)
            meter.skipped.append(index)
            reasons[why] = None
            continue
        if cell.cell_type == "markdown":
            reason = unsafe_markdown(cell.source, cell.get("attachments"))
            if reason is not None:
                cell.source = inert_markdown(cell.source, reason)
                cell.pop("attachments", None)
                changes.append(f"cell {index} (markdown): HTML turned off, removed: {reason}")
        elif cell.cell_type == "raw" and _raw_is_html(cell):
            reason = unsafe_html(cell.source)
            if reason is not None:
                cell.source = ""
                changes.append(f"cell {index} (raw HTML): emptied, removed: {reason}")
        _clean_tags(cell, index, changes)
        _clean_outputs(cell, index, changes)
    if isinstance(nb.get("metadata"), dict) and nb.metadata.pop("widgets", None) is not None:
        # nbconvert's HTML page loads a widget manager script from a CDN (unpinned) whenever this is present
        changes.append("notebook: widget state metadata removed (it makes the page load a script from a CDN)")
    if meter.skipped:
        changes.append(
            f"{OVER_BUDGET}: {len(meter.skipped)} cell(s) from cell {meter.skipped[0]} on not shown "
            f"({'; '.join(reasons)})"
        )
    return changes
