"""A platform that paces its random match: the odds (and, above odds of 1, the match's size)
of each Foundation pool under a random rule set by a controller that sees the pool's
level and the time left in its window (``policy.pacing``; ASSUMPTIONS, the settings
in :class:`sim.schema.PacingConfig`, described in docs/model.md).

A pool opens under its rule as published (intensity 1) and keeps it for ``hold_minutes``
after it opens (the opening's burst, which no forecast from the last hour can read); from
then, every ``minutes`` (5, the listings' refresh) the controller of each paced pool that is
open and holds money:

- forecasts the eligible giving left in the window: the giving seen in the last
  ``lookback_minutes`` (since the pool opened, if later), per unit of the platform's own
  traffic forecast (the calendar's baseline activity, minute by minute), times the forecast
  left until the window closes (the last hour, not the whole window: an opening's burst
  would have it expect the burst all day);
- wants the match rate that would spend what is left on it: remaining / forecast;
- and moves its intensity ``x`` (the nominal rule's expected match x ``x``: odds
  ``min(1, p x)``, the match's fractions x ``max(1, p x)`` up to a match of the whole gift)
  by the ratio of the wanted rate to the rate it paid since the last step, to the power
  ``gain``, at most x ``max_step`` or / ``max_cut`` a step (a platform slow to cut the
  odds it announced, quick to raise them when money is left), within
  [``min_intensity``, ``max_intensity``].

It writes the pool's rule row, which the settlement reads gift by gift; it never pays
anything itself, so a pool still pays at most what it holds, and the money paid is the
controller's result. What donors expect of the rule (:mod:`sim.model.match_view`) is the
rule as published, not the odds of the moment.
"""

from __future__ import annotations

import numpy as np

from sim.codes import MODE_RANDOM, F

_P, _FLO, _FHI = F["p_ppm"], F["frac_lo_bp"], F["frac_hi_bp"]


class Pacing:
    """The controllers of a campaign's paced pools."""

    def __init__(self, cfg, pools, forecast_cum: np.ndarray):
        """``forecast_cum``: the platform's traffic forecast, cumulated minute by minute
        (the baseline activity of :class:`sim.model.response.Response`, ``cum``; its
        scale cancels in the forecast's ratios)."""
        self.cfg = cfg
        self.pools = pools
        rows = pools.rules
        self.paced = [
            int(g)
            for g in pools.foundation
            if cfg.enabled and rows[g, F["mode"]] == MODE_RANDOM and rows[g, _P] > 0
        ]
        self.nominal = {g: rows[g].copy() for g in self.paced}
        self.x = {g: 1.0 for g in self.paced}
        self.cum = forecast_cum
        n_minutes = forecast_cum.shape[0] - 1
        self.public = np.zeros(n_minutes + 1, dtype=np.int64)  # cumulated public fen
        self.paid_at_step = {g: 0 for g in self.paced}
        self.public_at_step = {g: 0 for g in self.paced}
        self.history: list[tuple[int, int, float]] = []  # (minute, pool, intensity)

    def observe(self, m: int, public_fen: int) -> None:
        """Minute ``m``'s public giving (settled gifts), for the forecast."""
        self.public[m + 1] = self.public[m] + public_fen

    def step(self, m: int) -> None:
        """Before minute ``m`` settles: every ``minutes``, each paced pool's new intensity."""
        if not self.paced or m % self.cfg.minutes:
            return
        p, c = self.pools, self.cfg
        for g in self.paced:
            o, close = int(np.ceil(p.open_at[g])), int(np.ceil(p.close_at[g]))
            if m < o or m >= close:
                continue
            if m < o + c.hold_minutes or p.remaining[g] <= 0:
                self.paid_at_step[g] = int(p.paid[g])
                self.public_at_step[g] = int(self.public[m])
                if m == o:
                    self._write(g, self.x[g])
                    self.history.append((m, g, self.x[g]))
                continue
            since = max(o, m - c.lookback_minutes)
            seen = float(self.public[m] - self.public[since])
            seen_forecast = self.cum[m] - self.cum[since]
            left_forecast = self.cum[close] - self.cum[m]
            if seen <= 0 or seen_forecast <= 0:
                continue
            left = seen / seen_forecast * left_forecast
            want = p.remaining[g] / max(left, 1.0)
            step_public = float(self.public[m] - self.public_at_step[g])
            step_paid = float(p.paid[g] - self.paid_at_step[g])
            if step_paid > 0 and step_public > 0:
                ratio = (want / (step_paid / step_public)) ** c.gain
            else:
                ratio = c.max_step
            ratio = min(c.max_step, max(1.0 / c.max_cut, ratio))
            x = min(c.max_intensity, max(c.min_intensity, self.x[g] * ratio))
            self.x[g] = x
            self._write(g, x)
            self.history.append((m, g, x))
            self.paid_at_step[g] = int(p.paid[g])
            self.public_at_step[g] = int(self.public[m])

    def _write(self, g: int, x: float) -> None:
        """Pool ``g``'s rule row at intensity ``x`` of its nominal rule."""
        row, nom = self.pools.rules[g], self.nominal[g]
        px = nom[_P] / 1e6 * x
        row[_P] = min(1_000_000, int(round(nom[_P] * x)))
        scale = max(1.0, px)
        hi = min(10_000.0, nom[_FHI] * scale)
        s = hi / nom[_FHI] if nom[_FHI] > 0 else 1.0
        row[_FHI] = int(round(hi))
        row[_FLO] = int(round(nom[_FLO] * s))
