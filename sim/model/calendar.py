"""The campaign calendar: simulated time is minutes since the campaign's first midnight.

Days, theme and action days, and the intraday profile come from the scenario config, with
the year's levels (``scenario.levels``) applied to each day; pools' windows are converted
here to minutes, so the engine only ever compares numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from sim.schema import DayConfig, ScenarioConfig, parse_time

MINUTES_PER_DAY = 1440


def leveled_day(sc: ScenarioConfig, day: DayConfig) -> DayConfig:
    """A day as the engine runs it: base gifts x ``levels.gifts`` (x ``levels.theme_gifts``
    on the theme day), the gift-size shifts added, step donations and friend helps x
    ``levels.flower_acts``. Quiz answers are left as configured (2021's are reported)."""
    lv = sc.levels
    theme = day.kind == "theme"
    return replace(
        day,
        base_gifts_wan=day.base_gifts_wan * lv.gifts * (lv.theme_gifts if theme else 1.0),
        gift_size_shift=day.gift_size_shift
        + lv.gift_size_shift
        + (lv.theme_size_shift if theme else 0.0),
        step_donations_wan=day.step_donations_wan * lv.flower_acts,
        friend_helps_wan=day.friend_helps_wan * lv.flower_acts,
    )


@dataclass
class Calendar:
    start: datetime
    days: list[DayConfig]
    # by day kind: the share of a day's baseline activity in each minute of it (sums to 1)
    minute_weights: dict[str, np.ndarray]

    @classmethod
    def from_config(cls, sc: ScenarioConfig) -> Calendar:
        weights = {}
        for kind, hourly in sc.intraday_profiles.items():
            h = np.asarray(hourly, dtype=float)
            weights[kind] = np.repeat(h / h.sum() / 60.0, 60)
        return cls(
            parse_time("scenario.campaign_start", sc.campaign_start),
            [leveled_day(sc, d) for d in sc.days],
            weights,
        )

    def weights(self, kind: str) -> np.ndarray:
        """The share of a day's baseline activity in each minute of a day of ``kind``."""
        return self.minute_weights[kind]

    def minute_weight(self, minute: int) -> float:
        """The share of its day's baseline activity in ``minute``."""
        return float(self.minute_weights[self.day(minute).kind][minute % MINUTES_PER_DAY])

    @property
    def n_minutes(self) -> int:
        return len(self.days) * MINUTES_PER_DAY

    def minute(self, key: str, text: str) -> int:
        """Minutes from the campaign start to an ISO local time."""
        return int((parse_time(key, text) - self.start).total_seconds() // 60)

    def time(self, minute: float) -> datetime:
        """The local time of a simulated minute (fractions kept to the second)."""
        return self.start + timedelta(seconds=round(float(minute) * 60))

    def iso(self, minute: float | None) -> str | None:
        """ISO local time to the second, or None for a missing time (NaN)."""
        if minute is None or not np.isfinite(minute):
            return None
        return self.time(minute).isoformat(timespec="seconds")

    def iso_many(self, minutes) -> list[str | None]:
        """:meth:`iso` of each of ``minutes`` (a sequence of numbers), made in numpy at once:
        the same strings (the seconds rounded half to even, as ``round`` does)."""
        m = np.asarray(minutes, dtype=np.float64)
        if self.start.tzinfo is not None:  # numpy's times carry no offset: one at a time
            return [self.iso(x) for x in m.tolist()]
        ok = np.isfinite(m)
        seconds = np.rint(np.where(ok, m, 0.0) * 60.0).astype(np.int64)
        text = np.datetime_as_string(np.datetime64(self.start, "s") + seconds, unit="s")
        return [t if k else None for t, k in zip(text.tolist(), ok.tolist(), strict=True)]

    def day(self, minute: int) -> DayConfig:
        return self.days[minute // MINUTES_PER_DAY]
