"""Does nothing a learner controls reach grading-report.md as HTML, a link or a table column?"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from course_lib.grading.coordinator.report import cell_text, markdown
from course_lib.grading.task.inert import render_markdown

HOSTILE = [
    "<img src=x onerror=alert(1)>.csv: a symbolic link: ignored",
    "[click](javascript:alert(1)) and ![x](javascript:alert(1))",
    "a | b | c",
    "<script>alert(1)</script>",
    "*emphasis* `code` __bold__ # heading",
    "<!---><img src=x onerror=alert(1)>-->",
]


def _markup(html: str) -> list[str]:
    """The tags, and the attributes other than the headings' own anchors, of ``html``."""
    found: list[str] = []

    class Markup(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append(tag)
            found.extend(
                f"{k}={v}" for k, v in attrs if not (k in ("id", "class") or (k == "href" and v.startswith("#")))
            )

    Markup().feed(html)
    return found


STRUCTURE = {"table", "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "ul", "li", "p", "strong", "a"}


@pytest.mark.parametrize("text", HOSTILE)
def test_a_learner_string_is_shown_as_text(text):
    rendered = render_markdown(f"| a | b |\n|---|---|\n| x | {cell_text(text)} |")
    assert set(_markup(rendered)) <= STRUCTURE - {"a"}, rendered
    assert rendered.count("<td>") == 2, "no extra table column"


def test_the_whole_report_escapes_file_names_messages_events_and_html_notes():
    report = {
        "mallory": {
            "problems": [{"assignment": "01_sequence_data", "notebook": "-", "what": HOSTILE[0]}],
            "assignments": {
                "01_sequence_data": {
                    "status": "graded",
                    "score": 1,
                    "max": 2,
                    "auto": 1,
                    "manual": 0,
                    "pending": 0,
                    "late_penalty": 0,
                    "seconds_late": 0.0,
                    "events": ["<img src=x onerror=alert(1)>"],
                    "html_turned_off": [
                        "01: cell 3 (markdown): HTML turned off, removed: the attribute onerror= on <img>"
                    ],
                    "exercises": [
                        {
                            "notebook": "01",
                            "cell": "test_x",
                            "score": 0,
                            "max": 1,
                            "kind": "auto",
                            "needs_manual_grade": False,
                            "message": HOSTILE[1],
                        }
                    ],
                }
            },
        }
    }
    rendered = render_markdown(markdown(report))
    assert set(_markup(rendered)) <= STRUCTURE, rendered
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in rendered
