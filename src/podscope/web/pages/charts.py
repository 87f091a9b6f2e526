"""The appearances-over-time chart on a person's page: bar and gridline geometry for the template's SVG."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any


def _months(monthly: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Monthly appearances with the months in between filled in (undated last), for the chart."""
    rows = [dict(m) for m in monthly]
    dated = [m for m in rows if m["month"] != "undated"]
    undated = [m for m in rows if m["month"] == "undated"]
    if not dated:
        return undated
    by_month = {m["month"]: m for m in dated}
    year, month = map(int, dated[0]["month"].split("-"))
    last = tuple(map(int, dated[-1]["month"].split("-")))
    out: list[dict[str, Any]] = []
    while (year, month) <= last and len(out) < 240:
        key = f"{year:04d}-{month:02d}"
        out.append(by_month.get(key, {"month": key, "episodes": 0, "seconds": 0.0}))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out + undated


TICK_STEPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000, 72000)


def _tick(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def chart(monthly: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Bar geometry for the appearances-over-time chart: speaking time per month, on a scale with 2-4 gridlines."""
    months = _months(monthly)
    width, height, top, bottom, left = 720, 190, 18, 28, 48
    n = max(1, len(months))
    slot = (width - left) / n
    bar = min(44.0, slot * 0.66)
    peak = max([m["seconds"] for m in months] + [1.0])
    step = next((s for s in TICK_STEPS if peak / s <= 4), TICK_STEPS[-1])
    scale = step * math.ceil(peak / step)
    plot = height - top - bottom
    base = height - bottom
    ticks = [{"y": round(base - plot * k * step / scale, 1), "label": _tick(k * step)} for k in range(1, 5)]
    bars = []
    for i, m in enumerate(months):
        h = 0.0 if not m["seconds"] else max(3.0, plot * m["seconds"] / scale)
        label = "undated" if m["month"] == "undated" else dt.date.fromisoformat(m["month"] + "-01").strftime("%b %y")
        bars.append(
            {
                "x": round(left + i * slot + (slot - bar) / 2, 1),
                "y": round(base - h, 1),
                "w": round(bar, 1),
                "h": round(h, 1),
                "cx": round(left + i * slot + slot / 2, 1),
                "label": label,
                "show_label": n <= 12 or i % math.ceil(n / 12) == 0,
                "episodes": m["episodes"],
                "seconds": m["seconds"],
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "base": base,
        "bars": bars,
        "ticks": [t for t in ticks if t["y"] >= top - 1],
    }
