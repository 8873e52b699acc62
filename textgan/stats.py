"""Student's t quantiles for the 95 % intervals over seeds, without scipy (a test dependency only).

Below both the experiments' summary tables and the plots' error bands, which show the same interval.
"""

from __future__ import annotations

import functools
import math


def t95(n: int) -> float:
    """The 97.5 % quantile of Student's t with n - 1 degrees of freedom (NaN for a single seed), exact at every
    df (the normal's 1.96 is 4 % too narrow at 32 seeds)."""
    if n < 2:
        return math.nan
    return t_quantile(0.975, n - 1)


@functools.lru_cache(maxsize=4096)
def t_quantile(p: float, df: float) -> float:
    """Quantile of Student's t with `df` degrees of freedom, to float precision, without scipy (a test dependency
    only): bisection on the CDF, which is a regularized incomplete beta function."""
    if not 0 < p < 1 or not df > 0:
        raise ValueError(f"t_quantile needs 0 < p < 1 and df > 0; got p={p}, df={df}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    tail = 1 - p  # P(T > t) = I_{df/(df+t²)}(df/2, 1/2) / 2, decreasing in t
    lo, hi = 0.0, 1.0
    while _t_tail(hi, df) > tail:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if _t_tail(mid, df) > tail else (lo, mid)
    return (lo + hi) / 2


def _t_tail(t: float, df: float) -> float:
    return 0.5 * _betainc(df / 2, 0.5, df / (df + t * t))


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b): its continued fraction, evaluated by the modified
    Lentz method on whichever side of the mean converges fast (the other by I_x(a, b) = 1 − I_{1−x}(b, a))."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1 - _betainc(b, a, 1 - x)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)) / a
    # I_x(a, b) = front / (1 + d1 / (1 + d2 / (1 + ...))), with
    # d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)) and d_{2m} = m(b-m) x / ((a+2m-1)(a+2m))
    tiny = 1e-300
    f, c, d = 1.0, 1.0, 0.0
    for j in range(1, 100_000):
        if j % 2:
            m = (j - 1) // 2
            dj = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        else:
            m = j // 2
            dj = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1 + dj * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + dj / c
        c = c if abs(c) > tiny else tiny
        f *= c * d
        if abs(c * d - 1) < 1e-16:
            break
    return front / f
