"""Authoring aid: draw the course's diagrams into screenshots/ (git-ignored) to look at them, with their CPU cost.

Usage: python tools/render_diagrams.py [DPI]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from course_lib.diagrams import encoder_decoder_diagram, gru_cell_diagram, lstm_cell_diagram  # noqa: E402

DIAGRAMS = {
    "lstm_cell": lstm_cell_diagram,
    "gru_cell": gru_cell_diagram,
    "encoder_decoder": encoder_decoder_diagram,
    "encoder_decoder_attention": lambda: encoder_decoder_diagram(attention=True),
}


def main(dpi: int = 110) -> None:
    out = Path(__file__).resolve().parents[1] / "screenshots"
    out.mkdir(exist_ok=True)
    for name, draw in DIAGRAMS.items():
        start = time.process_time()
        fig = draw()
        fig.savefig(out / f"diagram_{name}.png", dpi=dpi)
        plt.close(fig)
        print(f"{name:26s} {time.process_time() - start:.2f} s CPU (drawn and saved) -> screenshots/diagram_{name}.png")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
