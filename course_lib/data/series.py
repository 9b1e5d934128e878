"""Numeric series: a noisy sine (generated) and the airline passengers series (real, 144 months).

Air passengers: monthly totals of international airline passengers, in thousands, January 1949 to
December 1960, from Box, G. E. P. and Jenkins, G. M. (1976) *Time Series Analysis, Forecasting and
Control*, series G; distributed as ``AirPassengers`` in R's datasets package.  The figures are
historical facts, reproduced here for teaching (see ``files/README.md``).
"""

from __future__ import annotations

import math

import torch

__all__ = ["noisy_sine", "air_passengers"]


def noisy_sine(T: int = 200, period: float = 25.0, noise: float = 0.1, seed: int = 0) -> torch.Tensor:
    """x_t = sin(2 pi t / period) + noise * e_t, e_t ~ N(0, 1); returns (T,) float32."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(T, dtype=torch.float32)
    return torch.sin(2 * math.pi * t / period) + noise * torch.randn(T, generator=g)


_AIR_PASSENGERS = (
    112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118,
    115, 126, 141, 135, 125, 149, 170, 170, 158, 133, 114, 140,
    145, 150, 178, 163, 172, 178, 199, 199, 184, 162, 146, 166,
    171, 180, 193, 181, 183, 218, 230, 242, 209, 191, 172, 194,
    196, 196, 236, 235, 229, 243, 264, 272, 237, 211, 180, 201,
    204, 188, 235, 227, 234, 264, 302, 293, 259, 229, 203, 229,
    242, 233, 267, 269, 270, 315, 364, 347, 312, 274, 237, 278,
    284, 277, 317, 313, 318, 374, 413, 405, 355, 306, 271, 306,
    315, 301, 356, 348, 355, 422, 465, 467, 404, 347, 305, 336,
    340, 318, 362, 348, 363, 435, 491, 505, 404, 359, 310, 337,
    360, 342, 406, 396, 420, 472, 548, 559, 463, 407, 362, 405,
    417, 391, 419, 461, 472, 535, 622, 606, 508, 461, 390, 432,
)


def air_passengers() -> torch.Tensor:
    """Monthly airline passengers (thousands), 1949-01 .. 1960-12: (144,) float32."""
    return torch.tensor(_AIR_PASSENGERS, dtype=torch.float32)
