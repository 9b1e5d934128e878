"""What a learner does in JupyterLab, as Playwright steps: open a notebook, run cells, read outputs, validate.

Everything is read from the DOM of the open notebook.  JupyterLab keeps every cell in the DOM (its
default windowing mode only skips painting cells out of view), so cell ``i`` of the page is cell ``i``
of the ``.ipynb`` file; text is read with ``textContent``, which does not depend on painting.

How a run ends: JupyterLab sends one execute request per cell; when a cell raises, the kernel aborts the
queued ones and their prompts go back to ``[ ]:``.  A run is over when a code cell at or after the first
cell of the run has an execution count newer than any before it, no prompt shows ``[*]:`` and the
kernel is idle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

NOTEBOOK = ".jp-NotebookPanel"
# An exception's rendering: IPython's traceback header, or a course check's one-line message (CheckFailure
# renders without a traceback through course_lib's internals).
TRACEBACK_HEADER = re.compile(
    r"^(?:(?P<name>\S+)\s+Traceback \(most recent call last\)|(?P<check>CheckFailure): )", re.M
)

# One record per cell of the open notebook (see the module docstring).
_CELLS_JS = """
() => Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')).map((cell, index) => {
  const prompt = cell.querySelector('.jp-InputArea .jp-InputPrompt');
  return {
    index,
    kind: cell.classList.contains('jp-CodeCell') ? 'code' : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
    prompt: prompt ? prompt.textContent.trim() : '',
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(o => ({
      mime: o.getAttribute('data-mime-type') || '', text: o.textContent || ''})),
    progress: Array.from(cell.querySelectorAll('.jp-OutputArea-output .widget-hprogress .progress-bar'))
      .map(bar => bar.className),
    images: Array.from(cell.querySelectorAll('.jp-OutputArea-output img'))
      .map(img => ({complete: img.complete, width: img.naturalWidth})),
  };
})
"""

# True when the run that started after execution count `before`, at cell `start`, is over: the kernel is idle, no
# prompt shows [*], and the run has reached its end -- every code cell from `start` on has run (or, with `one`, the
# cell at `start` has), or the newest cell of the run shows an error (the kernel then aborts the queued cells).
# Idle alone is not the end: between two queued cells the kernel reports idle for a moment, and on a busy machine
# JupyterLab may not have marked the queued cells [*] yet when the first one finishes.
_RUN_OVER_JS = """
([start, before, one]) => {
  const indicator = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  if (!indicator || indicator.getAttribute('data-status') !== 'idle') return false;
  const header = /^(?:\\S+\\s+Traceback \\(most recent call last\\)|CheckFailure: )/m;
  const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell'));
  let allRan = true, newest = null, newestCount = before;
  for (const [index, cell] of cells.entries()) {
    if (!cell.classList.contains('jp-CodeCell') || index < start) continue;
    const text = cell.querySelector('.jp-InputArea .jp-InputPrompt').textContent;
    if (text.includes('*')) return false;
    const count = parseInt((text.match(/\\[(\\d+)\\]/) || [])[1] || '0');
    if (count > newestCount) { newest = cell; newestCount = count; }
    if (count <= before && !(one && index > start)) allRan = false;
  }
  if (newest === null) return false;
  if (allRan) return true;
  return Array.from(newest.querySelectorAll('.jp-OutputArea-output')).some(o => header.test(o.textContent || ''));
}
"""


@dataclass
class Cell:
    """One cell as the page shows it."""

    index: int
    kind: str
    prompt: str
    outputs: list[dict]
    progress: list[str]
    images: list[dict]

    @property
    def count(self) -> int | None:
        """The execution count in the prompt, ``[12]:`` -> 12; None if not run (or running)."""
        match = re.search(r"\[(\d+)\]", self.prompt)
        return int(match.group(1)) if match else None

    @property
    def stderr(self) -> list[str]:
        """Texts of the red outputs: tracebacks and anything written to stderr (warnings)."""
        return [o["text"] for o in self.outputs if o["mime"] == "application/vnd.jupyter.stderr"]

    @property
    def error(self) -> Error | None:
        """The exception this cell raised, read from its traceback output; None if it raised nothing."""
        for text in self.stderr:
            header = TRACEBACK_HEADER.search(text)
            if header:
                return Error(self.index, header.group("name") or header.group("check"), text)
        return None

    @property
    def warnings(self) -> list[str]:
        """Red outputs that are not a traceback (warnings, a text progress bar falling back to stderr)."""
        return [text for text in self.stderr if not TRACEBACK_HEADER.search(text)]

    @property
    def text(self) -> str:
        return "\n".join(o["text"] for o in self.outputs)


@dataclass
class Error:
    cell: int
    name: str
    text: str = field(repr=False)

    @property
    def last_line(self) -> str:
        lines = [line for line in self.text.strip().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def is_learner_stub(self) -> bool:
        """The error an untouched exercise gives: the stub's NotImplementedError, or a check saying so."""
        if self.name == "NotImplementedError":
            return True
        return self.name in {"CheckFailure", "AssertionError"} and "not implemented yet" in self.text


def open_notebook(page: Page, lab, path: str, workspace: str) -> None:
    """Open ``path`` in a fresh workspace (nothing else open) and wait for all cells and an idle kernel."""
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{path}?token={lab.token}")
    page.locator(f"{NOTEBOOK} .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    expected = _cell_count(lab.course / path)
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length === n",
        arg=expected,
        timeout=60_000,
    )
    dismiss_news(page)
    wait_for_kernel_idle(page)


def open_lab(page: Page, lab, workspace: str) -> None:
    """Open JupyterLab itself in a fresh workspace."""
    page.goto(f"{lab.url}/lab/workspaces/{workspace}?token={lab.token}")
    page.locator("#jp-MainMenu").wait_for(timeout=60_000)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=60_000)
    page.locator(".jp-DirListing-item", has_text="notebooks").first.wait_for(timeout=60_000)  # the file browser
    dismiss_news(page)


def _cell_count(path) -> int:
    import nbformat

    return len(nbformat.read(path, as_version=4).cells)


def dismiss_news(page: Page) -> None:
    """Answer "No" to JupyterLab's "get notified about official Jupyter news?" toast, if it shows.

    The test's settings turn news off (fetchNews: false), so normally there is nothing to click; this
    guards against a JupyterLab that asks anyway.
    """
    toast = page.locator(".Toastify__toast", has_text="news")
    if toast.count():
        toast.get_by_role("button", name="No", exact=True).click()
        toast.wait_for(state="detached", timeout=10_000)


def wait_for_kernel_idle(page: Page, timeout_ms: int = 120_000) -> None:
    dialog = page.locator(".jp-Dialog")
    try:
        page.locator(f"{NOTEBOOK} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout_ms)
    except PlaywrightTimeout:
        extra = f" A dialog is open: {dialog.first.inner_text()!r}" if dialog.count() else ""
        raise AssertionError(f"the notebook's kernel never became idle.{extra}") from None


def cells(page: Page) -> list[Cell]:
    return [Cell(**record) for record in page.evaluate(_CELLS_JS)]


def menu(page: Page, menu_name: str, item: str) -> None:
    """Click ``menu_name > item`` in JupyterLab's menu bar."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(menu_name)}$")).click()
    # An item's accessible name ends with its keyboard shortcut, if it has one ("Run Selected Cell Shift+Enter").
    name = re.compile(rf"^{re.escape(item)}(?:\s+(?:Ctrl|Shift|Alt|Cmd|Accel)\+\S+)?$")
    page.locator(".lm-Menu").get_by_role("menuitem", name=name).click()


@dataclass
class Run:
    cells: list[Cell]  # every cell of the notebook after the run
    ran: list[Cell]  # the code cells this run executed, in order


def run(page: Page, menu_item: str, start: int, timeout_ms: int) -> Run:
    """Run > ``menu_item`` from cell ``start``; wait until the run is over."""
    before = max((c.count or 0 for c in cells(page)), default=0)
    one = menu_item == "Run Selected Cell"
    menu(page, "Run", menu_item)
    try:
        page.wait_for_function(_RUN_OVER_JS, arg=[start, before, one], timeout=timeout_ms, polling=250)
    except PlaywrightTimeout:
        states = " ".join(c.prompt or "?" for c in cells(page) if c.kind == "code")
        raise AssertionError(
            f"Run > {menu_item} did not finish in {timeout_ms / 1000:.0f} s; prompts: {states}"
        ) from None
    after = cells(page)
    ran = sorted(
        (c for c in after if c.kind == "code" and c.index >= start and (c.count or 0) > before), key=lambda c: c.count
    )
    return Run(after, ran)


def select_cell(page: Page, index: int) -> None:
    """Make cell ``index`` the active cell, as a click on its prompt area does."""
    cell = page.locator(f"{NOTEBOOK} .jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea .jp-InputPrompt").click()
    page.wait_for_function(
        "i => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')[i].classList.contains('jp-mod-active')",
        arg=index,
        timeout=10_000,
    )


def scroll_to_cell(page: Page, index: int, *, outputs: bool = False, block: str = "start") -> None:
    """Scroll cell ``index`` (or, with ``outputs``, its outputs) to the ``block`` ("start" | "center") of the
    notebook and wait until the browser has painted it.  Cells above get their real height only when
    painted, which moves the target: scroll again until it stays put."""
    page.evaluate(
        """async ([index, outputs, block]) => {
          const frame = () => new Promise(done => requestAnimationFrame(done));
          const cell = document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')[index];
          const target = (outputs && cell.querySelector('.jp-Cell-outputWrapper')) || cell;
          let last = null;
          for (let i = 0; i < 20; i++) {
            target.scrollIntoView({block});
            await frame(); await frame();
            const top = Math.round(target.getBoundingClientRect().top);
            if (top === last) break;
            last = top;
          }
        }""",
        [index, outputs, block],
    )
    page.wait_for_timeout(200)  # let painting settle before a screenshot


def validate(page: Page, timeout_ms: int = 300_000) -> tuple[str, str]:
    """Click nbgrader's Validate button; return ("success" | "error", the dialog's text); dialog left open."""
    page.locator(f"{NOTEBOOK} jp-button.validate-button").click()
    dialog = page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
    dialog.wait_for(timeout=timeout_ms)
    kind = "success" if "nbgrader-SuccessDialog" in (dialog.get_attribute("class") or "") else "error"
    return kind, dialog.inner_text()


_FAILED_CELLS_JS = """
() => {
  const message = document.querySelector('.nbgrader-ErrorDialog #validation-message.validation-failed');
  if (!message) return null;
  const parts = Array.from(message.children);
  const failed = [];
  parts.forEach((part, i) => {
    if (!part.classList.contains('jp-RenderedText') && part.textContent.includes('The following cell failed')) {
      failed.push({source: (parts[i + 1] || {}).textContent || '', error: (parts[i + 2] || {}).textContent || ''});
    }
  });
  return failed;
}
"""


def failed_cells(page: Page) -> list[dict] | None:
    """The open validation dialog's failing cells as {source, error}; None if it is not a failure list."""
    return page.evaluate(_FAILED_CELLS_JS)


def close_dialog(page: Page) -> None:
    dialog = page.locator(".nbgrader-SuccessDialog, .nbgrader-ErrorDialog")
    dialog.locator("button.jp-Dialog-button").first.click()
    dialog.wait_for(state="detached", timeout=10_000)
