"""Drawing primitives of the diagrams: boxes, pointwise nodes, wires with arrowheads, labels (matplotlib only).

Coordinates are data units on an axes with equal aspect.  Every artist gets a ``gid`` naming what it shows
(``"gate:f"``, ``"node:odot"``, ``"state:c_t"``), so tests can find the pieces by meaning rather than position.
A wire that crosses another without joining it is drawn ``over`` it with a white halo: the wire below shows a
gap, the usual sign of "no junction here".
"""

from __future__ import annotations

import math as math_
from dataclasses import dataclass

import matplotlib.patheffects as path_effects
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

__all__ = ["Shape", "Sketch", "math"]

INK = "#222222"
BACKGROUND = "#f3f3f3"  # inside a cell; also the halo of a wire drawn over another
WIRE_Z, OVER_Z, SHAPE_Z, TEXT_Z = 1.0, 1.5, 2.0, 3.0


def math(symbol: str) -> str:
    """A mathtext label: ``"h_{t-1}"`` -> ``"$h_{t-1}$"``."""
    return f"${symbol}$"


@dataclass(frozen=True)
class Shape:
    """A drawn box or node: its centre and half-sizes, and the points where wires attach."""

    x: float
    y: float
    half_w: float
    half_h: float

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.half_h)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.half_h)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.half_w, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.half_w, self.y)


class Sketch:
    """An axes prepared for a diagram: equal aspect, no frame, fixed limits."""

    def __init__(self, ax: plt.Axes | None, xlim: tuple[float, float], ylim: tuple[float, float], inch: float = 0.62):
        if ax is None:
            size = ((xlim[1] - xlim[0]) * inch, (ylim[1] - ylim[0]) * inch)
            _, ax = plt.subplots(figsize=size)
            ax.figure.subplots_adjust(0, 0, 1, 1)
        self.ax = ax
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_aspect("equal")
        ax.set_axis_off()

    @property
    def figure(self) -> plt.Figure:
        return self.ax.figure

    def text(self, x, y, text, gid, size=11, ha="center", va="center", color=INK, **kwargs):
        return self.ax.text(x, y, text, gid=gid, fontsize=size, ha=ha, va=va, color=color, zorder=TEXT_Z, **kwargs)

    def box(self, x, y, w, h, text, gid, face="white", size=11, round_=0.08, edge=INK) -> Shape:
        """A rounded box centred on (x, y) with ``text`` inside."""
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle=f"round,pad=0,rounding_size={round_}",
            facecolor=face,
            edgecolor=edge,
            linewidth=1.2,
            zorder=SHAPE_Z,
            gid=gid,
        )
        self.ax.add_patch(patch)
        if text:
            self.text(x, y, text, gid=f"{gid}:text", size=size)
        return Shape(x, y, w / 2, h / 2)

    def region(self, x0, y0, x1, y1, gid, face=BACKGROUND) -> None:
        """The cell's outline, behind everything."""
        patch = FancyBboxPatch(
            (x0, y0),
            x1 - x0,
            y1 - y0,
            boxstyle="round,pad=0,rounding_size=0.35",
            facecolor=face,
            edgecolor="#9a9a9a",
            linewidth=1.0,
            zorder=0.5,
            gid=gid,
        )
        self.ax.add_patch(patch)

    def node(self, x, y, kind: str, gid: str, r: float = 0.2) -> Shape:
        """A pointwise operation: ``"odot"`` (a circle with a dot, the element-wise product) or ``"plus"``."""
        self.ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=INK, linewidth=1.2, zorder=SHAPE_Z, gid=gid))
        if kind == "odot":
            self.ax.add_patch(Circle((x, y), r * 0.22, color=INK, zorder=SHAPE_Z + 0.1, gid=f"{gid}:dot"))
        elif kind == "plus":
            for dx, dy in ((r * 0.6, 0), (0, r * 0.6)):
                self.ax.plot(
                    [x - dx, x + dx], [y - dy, y + dy], color=INK, lw=1.2, zorder=SHAPE_Z + 0.1, gid=f"{gid}:mark"
                )
        else:
            raise ValueError(f"unknown node kind {kind!r}")
        return Shape(x, y, r, r)

    def wire(
        self,
        *points,
        gid: str = "wire",
        arrow: bool = True,
        over: bool = False,
        dashed: bool = False,
        color: str = INK,
        lw: float = 1.3,
    ) -> None:
        """A polyline through ``points`` with an arrowhead at the last one."""
        xs, ys = zip(*points)
        effects = [path_effects.withStroke(linewidth=lw + 8, foreground=BACKGROUND)] if over else None
        self.ax.plot(
            xs,
            ys,
            color=color,
            lw=lw,
            linestyle="--" if dashed else "-",
            solid_capstyle="butt",
            zorder=OVER_Z if over else WIRE_Z,
            gid=gid,
            path_effects=effects,
        )
        if arrow:  # the head alone, on the last 0.05 units (a patch along the whole segment would cover halos)
            (x0, y0), (x1, y1) = points[-2], points[-1]
            length = math_.hypot(x1 - x0, y1 - y0)
            start = (x1 - 0.05 * (x1 - x0) / length, y1 - 0.05 * (y1 - y0) / length)
            self.ax.add_patch(
                FancyArrowPatch(
                    start,
                    points[-1],
                    arrowstyle="-|>",
                    mutation_scale=11,
                    color=color,
                    lw=0,
                    shrinkA=0,
                    shrinkB=0,
                    zorder=SHAPE_Z + 0.2,
                    gid=f"{gid}:head",
                )
            )

    def junction(self, x, y, gid: str = "junction") -> None:
        """A dot where a wire branches."""
        self.ax.add_patch(Circle((x, y), 0.06, color=INK, zorder=SHAPE_Z, gid=gid))

    def equations(self, x, y, lines, step: float = 0.5, size: int = 11) -> None:
        """Equations under a diagram, one mathtext line each, from ``y`` downwards."""
        for k, line in enumerate(lines):
            self.text(x, y - k * step, math(line), gid=f"equation:{k}", size=size)
