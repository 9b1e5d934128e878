"""Feedback a student can read, made by nbgrader's own ``generate_feedback`` through configuration only.

:func:`configure` (called from ``nbgrader_config.py``, so ``course grade``, ``nbgrader generate_feedback``
and Formgrader's button all use it) sets three things:

- the preprocessors: nbgrader's ``GetGrades``, the CSS header, ``ClearHiddenTests`` (the hidden tests'
  source never reaches a student; only the grader's message says what a hidden case found), then
  :class:`FeedbackTitles`;
- :class:`FeedbackTitles`: gives every graded cell a title, its exercise and section (``test_make_windows``
  -> "make_windows — 5. Windows for next-step prediction"), and marks cells still awaiting manual grading,
  so that the page says "2 points awaiting your instructor" rather than "Score: 0.0 / 2.0";
- the template ``templates/feedback/course_feedback.html.j2`` (extending nbgrader's ``feedback`` page): those titles in
  the table of contents and the cell headings, failure messages in full and wrapped, tables ruled (nbgrader's
  page drops the notebook stylesheet, so Bootstrap alone ran a table's cells together).

The page is self-contained: it loads no script and makes no request (Bootstrap and the rest of its CSS are
inline), so it reads the same downloaded from an LMS and opened from disk without a network.  Maths is
typeset when the page is rendered, as MathML the browser lays out itself (:mod:`course_lib.grading.task.mathml`;
``templates/feedback/mathjax.html.j2`` stands in for nbconvert's MathJax loader with nothing).

The page is rendered by :class:`FeedbackExporter`, nbconvert's ``HTMLExporter`` with three changes: markdown
and ``text/latex`` maths become MathML; the compiled templates are kept for the life of the process
(nbgrader makes a fresh exporter, and so a fresh Jinja environment, for every notebook; compiling the template
chain cost a third of each page's 0.65 s); and the two accessibility edits nbconvert makes after rendering -- an
alt text on each image that has none, ``tabindex="0"`` on each cell's input and output -- are made on the markup
the templates wrote (:func:`accessible`) instead of by parsing the whole page with BeautifulSoup's pure-Python
parser and writing it out again, which was half of the feedback's CPU (about 1 s a page, measured with cProfile
in a grading worker).  Nothing a learner wrote reaches the page unchecked (:mod:`course_lib.grading.task.inert`
sanitizes it with nh3 before), so that second parse was no safety layer.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import jinja2
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.markdown_mistune import MarkdownWithMath
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader.preprocessors import NbGraderPreprocessor

from course_lib.grading.task.mathml import MathMLRenderer, latex_output_html

__all__ = ["TEMPLATE_FILE", "FeedbackExporter", "FeedbackTitles", "accessible", "configure", "titles"]

TEMPLATE_FILE = "course_feedback.html.j2"
TEMPLATES = (
    Path(__file__).parents[1] / "templates"
)  # course_lib/grading/templates: holds feedback/course_feedback.html.j2
HEADING = re.compile(r"^#{1,3}\s+(?P<text>.+?)\s*#*\s*$", re.MULTILINE)
FENCED = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)


def titles(nb) -> dict[str, str]:
    """grade_id -> "<exercise> — <section heading>" for every graded cell of ``nb``."""
    out, section = {}, ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = HEADING.findall(FENCED.sub("", cell.source))  # a "# comment" in a code block is no heading
            if found:
                section = found[-1]
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade") or not isinstance(meta.get("grade_id"), str):
            continue
        grade_id = meta["grade_id"]
        exercise = grade_id.removeprefix("test_")
        kind = "written answer" if cell.cell_type == "markdown" else ""
        name = f"{exercise} ({kind})" if kind else exercise
        out[grade_id] = f"{name} — {section}" if section else name
    return out


NO_ALT = "No description has been provided for this image"  # nbconvert's words
_IMG_WITHOUT_ALT = re.compile(r"<img(?=[\s/>])(?![^>]*\salt\s*=)", re.IGNORECASE)
# the cell wrappers nbconvert's lab templates write: an input's, and an output's (any further classes)
_FOCUSABLE = re.compile(r'(<div class="(?:jp-Cell-inputWrapper|[^"<>]*\bjp-OutputArea-output\b[^"<>]*)")')


def accessible(html: str) -> str:
    """nbconvert's two accessibility edits (``HTMLExporter.from_notebook_node``) on the templates' markup: an alt
    text on every ``<img>`` without one, and ``tabindex="0"`` on every cell input wrapper and output, so a
    keyboard reaches each."""
    return _FOCUSABLE.sub(r'\1 tabindex="0"', _IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', html))


class _CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's compiled templates, in memory for this process; a bucket's key includes the template's source
    checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML exporter (configured as ``FeedbackExporter``): maths as MathML, compiled templates that
    outlive it."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = _COMPILED
        return environment

    @jinja2.pass_context
    def markdown2html(self, context, source):
        """``HTMLExporter.markdown2html`` (same renderer options) with :class:`MathMLRenderer`."""
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def default_filters(self):
        yield from super().default_filters()
        yield ("latex_output_html", latex_output_html)

    def from_notebook_node(self, nb, resources=None, **kw):
        """``HTMLExporter.from_notebook_node`` (the same two filters registered first), its BeautifulSoup pass
        replaced by :func:`accessible`."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        resources = self._init_resources(resources)
        self.register_filter(
            "highlight_code", self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        )
        self.register_filter(
            "filter_data_type",
            WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self, resources=resources),
        )
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return accessible(html), resources


class FeedbackTitles(NbGraderPreprocessor):
    """Titles every graded cell and marks those awaiting manual grading (from the gradebook)."""

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        from course_lib.grading.task.bonus import bonus_points

        info = resources["nbgrader"]
        named = titles(nb)
        pending = 0.0
        with Gradebook(info["db_url"]) as gb:
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade_id") not in named:
                    continue
                meta["title"] = named[meta["grade_id"]]
                meta["bonus"] = bonus_points(
                    info["notebook"], meta["grade_id"]
                )  # extra credit: its score is not out of a maximum
                try:
                    grade = gb.find_grade(meta["grade_id"], info["notebook"], info["assignment"], info["student"])
                except MissingEntry:
                    continue
                meta["pending"] = bool(grade.needs_manual_grade) and grade.manual_score is None
                if meta["pending"]:
                    pending += grade.max_score
            try:  # for the page's late-penalty line (GetGrades sets the penalty itself)
                late = gb.find_submission(info["assignment"], info["student"]).total_seconds_late
            except MissingEntry:
                late = 0.0
        info["pending"] = pending
        info["hours_late"] = float(late or 0.0) / 3600
        return nb, resources


def configure(c) -> None:
    """Set up ``generate_feedback`` on the traitlets config ``c`` (``nbgrader_config.py``'s ``c``)."""
    import nbgrader
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    nbgrader_templates = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates"
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, FeedbackTitles]
    c.GenerateFeedback.exporter_class = FeedbackExporter
    # nbgrader's API always renders feedback with the template *named* "feedback"; every basedir's "feedback"
    # folder is on its search path, ours first: our file extends index.html.j2, found in nbgrader's folder.
    # Set on FeedbackExporter, never on HTMLExporter: Formgrader renders its submission pages with a plain
    # HTMLExporter built from the same config (template "formgrade"), which cannot find our template file.
    c.FeedbackExporter.template_file = TEMPLATE_FILE
    c.FeedbackExporter.extra_template_basedirs = [os.fspath(TEMPLATES), os.fspath(nbgrader_templates)]
