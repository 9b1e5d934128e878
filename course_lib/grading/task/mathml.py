"""Maths typeset as MathML when a feedback page is rendered, so the page needs no script and no network.

A feedback page is read where the grader's machine is not: downloaded from the LMS, opened from disk, on a
train.  MathJax from a CDN (what nbconvert's templates load) leaves raw LaTeX there, and a page opened from
file:// cannot reach a locally served copy.  Chromium (109+), Firefox and Safari lay out MathML Core
themselves, so the page carries the maths as MathML, converted from LaTeX by latex2mathml while the page is
rendered:

- :class:`MathMLRenderer` is nbconvert's ``IPythonRenderer`` (the markdown renderer of ``HTMLExporter``)
  whose ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` and ``\\begin{env}...\\end{env}`` become
  ``<math>`` (``display="block"`` for display maths); :func:`latex_output_html` does the same for a
  ``text/latex`` output;
- a formula latex2mathml cannot convert (an error, a command it does not know and would print as ``\\foo``,
  an alignment ``&`` outside a table) stays as its escaped text between its delimiters, as before;
- every MathML fragment passes through nh3 (:func:`sanitize_mathml`) with a MathML-only allowlist:
  presentational elements and attributes, no ``href`` (MathJax's ``\\href`` becomes one), no ``style``,
  ``class``, ``id`` (``\\style``, ``\\class``, ``\\cssId``), no ``xlink:``, no ``annotation-xml`` (an HTML
  island), no colours (``\\color``), no ``mpadded`` (``\\rlap``, ``\\smash``: a box that overlaps its
  neighbours); lengths only non-negative and under 100 units, so nothing moves over other text.

latex2mathml 3.81 writes ``\\text{<pad>}`` as a raw ``<pad>`` tag (it un-escapes its own serialisation), so
the tree is serialised here instead (text escaped, its numeric character references kept), and what it
lacks is added by :data:`ALIASES` (``aligned``, ``\\arg``), by reading the escapes of ``\\text{one\\_hot}`` and
the delimiters of ``\\Big\\|``.

References: MathML Core (W3C, 2023), https://www.w3.org/TR/mathml-core/ ; latex2mathml,
https://github.com/roniemartinez/latex2mathml ; nh3 (ammonia), https://nh3.readthedocs.io .
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from xml.etree.ElementTree import Element, tostring

import nh3
from latex2mathml.converter import convert_to_element
from latex2mathml.symbols_parser import convert_symbol
from nbconvert.filters.markdown_mistune import IPythonRenderer

__all__ = ["MATH_ATTRIBUTES", "MATH_TAGS", "MathMLRenderer", "latex_output_html", "latex_to_mathml", "sanitize_mathml"]

# The presentation elements latex2mathml writes (less mpadded); nothing that links, embeds HTML or scripts.
MATH_TAGS = frozenset(
    "math mrow mi mn mo ms mtext mspace mfrac msqrt mroot mstyle merror mphantom msub msup msubsup munder mover "
    "munderover mmultiscripts mprescripts none mtable mtr mtd menclose".split()
)
LENGTH_ATTRIBUTES = frozenset(
    "width height depth lspace rspace minsize maxsize mathsize linethickness rowspacing columnspacing".split()
)
MATH_ATTRIBUTES = LENGTH_ATTRIBUTES | frozenset(
    "display displaystyle scriptlevel mathvariant stretchy fence separator form accent accentunder movablelimits "
    "largeop symmetric columnalign rowalign columnlines rowlines frame notation linebreak".split()
)
# A non-negative length below 100 units (latex2mathml's widest is \qquad, 2em): nothing negative moves a glyph
# over its neighbours, nothing huge pushes the page apart.
_LENGTH = re.compile(r"^(?:\d{1,2}(?:\.\d+)?|\.\d+)(?:em|ex|pt|px|mu|%)?$")
# What latex2mathml 3.81 lacks, written with what it has (MathJax reads both the same).
ALIASES = (
    (re.compile(r"\\(begin|end)\{aligned\}"), r"\\\1{align*}"),
    (re.compile(r"\\arg(?![A-Za-z])"), r"\\operatorname{arg}"),
)
# latex2mathml keeps a command it does not know as its name (<mi>\foo</mi>) and an alignment & outside a table
# as it is (<mi>&</mi>); every character it does know is a numeric reference (&#x0003D;).
_UNCONVERTED = re.compile(r"\\|&(?!#x?[0-9A-Fa-f]+;)")
# ... and \text{one\_hot}'s escapes as they are: the characters they stand for, as its references.
_TEXT_ESCAPE = re.compile(r"\\([_%#$&{}])")
_ESCAPED_REFERENCE = re.compile(r"&amp;(#x?[0-9A-Fa-f]+;)")
# A text/latex output's maths, as MathJax's tex2jax finds it (display forms first).
_OUTPUT_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|\\\[(?P<db>.+?)\\\]|(?P<env>\\begin\{(?P<name>[A-Za-z]+\*?)\}.+?\\end\{(?P=name)\})"
    r"|\\\((?P<ip>.+?)\\\)|(?<!\\)\$(?P<id>.+?)(?<!\\)\$",
    re.DOTALL,
)


def _keep_length(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: a length attribute keeps only non-negative lengths below 100 units."""
    if attribute in LENGTH_ATTRIBUTES and not all(_LENGTH.match(part) for part in value.split()):
        return None
    return value


def sanitize_mathml(fragment: str) -> str:
    """``fragment`` with every element and attribute outside the MathML allowlist removed (nh3's output)."""
    return nh3.clean(
        fragment,
        tags=set(MATH_TAGS),
        attributes={"*": set(MATH_ATTRIBUTES)},
        attribute_filter=_keep_length,
        url_schemes=set(),
        link_rel=None,
    )


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text(fragment: str) -> str:
    """The text of nh3's (well-formed) serialisation ``fragment``."""
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def _texts(element: Element, attributes: bool = True):
    for node in element.iter():
        yield node.text or ""
        yield node.tail or ""
        if attributes:
            yield from node.attrib.values()


def latex_to_mathml(latex: str, display: str = "inline") -> str | None:
    """``latex`` (without delimiters) as sanitized MathML, or None where latex2mathml cannot convert it."""
    for pattern, replacement in ALIASES:
        latex = pattern.sub(replacement, latex)
    try:
        tree = convert_to_element(latex, display=display)
    except Exception:  # latex2mathml raises its own errors, and IndexError/KeyError on some malformed input
        return None
    for node in tree.iter("mtext"):
        node.text = _TEXT_ESCAPE.sub(lambda m: f"&#x{ord(m[1]):05X};", node.text or "")
    for node in tree.iter("mo"):  # \Big\| keeps its delimiter as written: look it up as latex2mathml would
        if (node.text or "").startswith("\\") and (code := convert_symbol(node.text)) is not None:
            node.text = f"&#x{code};"
    if any(_UNCONVERTED.search(text) for text in _texts(tree)):
        return None
    # tostring escapes the learner's text (\text{<pad>}); latex2mathml's own references are then unescaped
    mathml = sanitize_mathml(_ESCAPED_REFERENCE.sub(r"&\1", tostring(tree, encoding="unicode")))
    # An element where HTML parsing puts it elsewhere (latex2mathml writes \mathbin{\&} as <mo><mrow>, an HTML
    # <mrow> for a browser) is dropped by nh3 with its text: the formula would lose a symbol, so it stays text.
    if _text(mathml) != html.unescape("".join(_texts(tree, attributes=False))):
        return None
    return mathml


class MathMLRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with maths as MathML; a formula that does not convert stays as text."""

    def block_math(self, body: str) -> str:
        return latex_to_mathml(body, "block") or super().block_math(body)

    def inline_math(self, body: str) -> str:
        return latex_to_mathml(body) or super().inline_math(body)

    def latex_environment(self, name: str, body: str) -> str:
        return latex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block") or super().latex_environment(
            name, body
        )


def latex_output_html(text: str) -> str:
    """A ``text/latex`` output as HTML: its maths as MathML, everything else (and maths that does not convert)
    as escaped text."""
    out, end = [], 0
    for match in _OUTPUT_MATH.finditer(text):
        inline = match["ip"] if match["ip"] is not None else match["id"]
        latex = inline if inline is not None else (match["dd"] or match["db"] or match["env"])
        mathml = latex_to_mathml(latex, "inline" if inline is not None else "block")
        out += [html.escape(text[end : match.start()]), mathml or html.escape(match[0])]
        end = match.end()
    out.append(html.escape(text[end:]))
    return "".join(out)
