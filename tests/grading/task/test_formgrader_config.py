"""Does Formgrader's own page exporter work with the course's nbgrader_config.py?

Formgrader renders every submission page with a plain ``HTMLExporter`` built from the course's configuration
plus its own template (``formgrade``).  The feedback template was once set on ``HTMLExporter`` itself, so
every grading page answered HTTP 500 (TemplateNotFound) while the list pages worked.  The live page is
tested in tests/browser/test_hub_term.py; this is the fast check of the configuration.
"""

from __future__ import annotations

import nbformat
from nbconvert import HTMLExporter
from nbgrader.server_extensions.formgrader import handlers
from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from tests.conftest import ROOT
from tests.grading.conftest import A01, formgrader_resources, solved


def _course_config() -> Config:
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def test_formgraders_page_exporter_renders_a_submission_with_the_course_config(tmp_path):
    config = _course_config()
    config.merge(FormgradeExtension().build_extra_config())  # what Formgrader adds: template "formgrade"
    exporter = HTMLExporter(config=config)
    notebook = tmp_path / f"{A01}.ipynb"
    nbformat.write(solved(), notebook)
    resources = formgrader_resources(notebook, "alice")
    page, _ = exporter.from_filename(str(notebook), resources=resources)
    assert 'class="score tabbable"' in page  # Formgrader's own grading page, with its score boxes
    assert exporter.template_name == "formgrade" and handlers.template_path in exporter.extra_template_basedirs


def test_the_feedback_template_is_the_feedback_exporters_alone():
    from course_lib.grading.task.feedback import TEMPLATE_FILE

    config = _course_config()
    assert "template_file" not in config.HTMLExporter
    assert config.FeedbackExporter.template_file == TEMPLATE_FILE
