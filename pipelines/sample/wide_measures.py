"""The wide measure columns of the single-file canonical export (design-13-files.md, shape 1):
``on_task`` (percent of intervals on task, higher is better) for some children and
``protests`` (count per session, lower is better) for some children, each with a planted
child-led effect, and the check that neither shows a trend the wrong way (so the
needs-attention flags of these measures stay those planted: none).

Drawn from a generator of its own (``[seed, 13]``), after everything else: adding the columns
changed no earlier number of the sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .engagement import mann_kendall
from .people import Tenure, Window
from .sessions import Sessions

WIDE_MEASURES = ("on_task", "protests")
ON_TASK_SHARE, PROTESTS_SHARE = 0.35, 0.30          # children measured
ON_TASK_EFFECT_MEAN, ON_TASK_EFFECT_SD = 12.0, 4.0  # child-led minus directed, percentage points
PROTESTS_RATIO_MEAN, PROTESTS_RATIO_SD = 0.55, 0.10  # child-led rate / directed rate


@dataclass(frozen=True)
class WideMeasures:
    on_task: np.ndarray          # per session (NaN: not measured or not attended)
    protests: np.ndarray         # per session (NaN: not measured or not attended)
    on_task_child: np.ndarray    # per child: measured on task (bool)
    protests_child: np.ndarray   # per child: protests counted (bool)
    on_task_effect: np.ndarray   # per child: planted child-led effect, percentage points
    protests_rate: np.ndarray    # per child: protests per directed session (Poisson mean)
    protests_ratio: np.ndarray   # per child: child-led rate / directed rate

    def columns(self, row_sess: np.ndarray) -> dict[str, pa.Array]:
        """The export columns for rows of sessions ``row_sess`` (null where no value)."""
        on, pr = self.on_task[row_sess], self.protests[row_sess]
        return {"on_task": pa.array(on, pa.float64(), mask=np.isnan(on)),
                "protests": pa.array(np.nan_to_num(pr).astype(np.int64), pa.int64(), mask=np.isnan(pr))}


def _not_worse(rng, values: np.ndarray, redraw, ci: np.ndarray, sd: np.ndarray, rows: np.ndarray,
               sign: float) -> None:
    """Redraw (``redraw(rows)``) the recent values of children whose window trends the wrong
    way (Mann-Kendall z beyond 1.4 against ``sign``), in place; last resort: sort the window
    the better way."""
    for it in range(101):
        if not len(rows):
            return
        uniq, cnt, z, _zcc, _slope = mann_kendall(ci[rows], values[rows], sd[rows])
        bad = (cnt >= 3) & (sign * z < -1.4)
        if not bad.any():
            return
        rows = rows[np.isin(ci[rows], uniq[bad])]
        if it < 100:
            values[rows] = redraw(rows)
        else:
            o = np.lexsort((sign * values[rows], ci[rows]))
            values[rows] = values[rows][o]


def wide_measures(seed: int, win: Window, ten: Tenure, ses: Sessions, att: np.ndarray,
                  app: np.ndarray) -> WideMeasures:
    """On-task percent (the child's level about 50 %, plus its child-led effect, normal
    ON_TASK_EFFECT_MEAN/SD percentage points, half of it in mixed sessions, plus noise SD 8,
    clipped to 0-100 and written with one decimal) and protests (Poisson counts at the
    child's directed rate 2-6, times its child-led ratio, PROTESTS_RATIO_MEAN/SD, in
    child-led sessions and its square root in mixed ones) of attended sessions of the
    children measured."""
    rng = np.random.default_rng([seed, 13])
    N = len(ten.ce)
    ci, sd = ses.ci, ses.sd
    on_child = rng.random(N) < ON_TASK_SHARE
    pr_child = rng.random(N) < PROTESTS_SHARE
    on_base = np.clip(rng.normal(50.0, 10.0, N), 25.0, 75.0)
    on_effect = rng.normal(ON_TASK_EFFECT_MEAN, ON_TASK_EFFECT_SD, N)
    pr_rate = rng.uniform(2.0, 6.0, N)
    pr_ratio = np.clip(rng.normal(PROTESTS_RATIO_MEAN, PROTESTS_RATIO_SD, N), 0.25, 0.85)
    weight = (app == 0) + 0.5 * (app == 2)           # child-led 1, mixed 1/2, directed 0
    on_mean = on_base[ci] + on_effect[ci] * weight
    pr_mean = pr_rate[ci] * pr_ratio[ci] ** weight

    def on_draw(rows):
        return np.round(np.clip(on_mean[rows] + rng.normal(0.0, 8.0, len(rows)), 0.0, 100.0), 1)

    def pr_draw(rows):
        return rng.poisson(pr_mean[rows]).astype(float)

    everything = np.arange(ses.n)
    on_task, protests = on_draw(everything), pr_draw(everything)
    last_sd = np.full(N, -1, np.int64)
    last_sd[ci[ses.last_row]] = sd[ses.last_row]
    anchor = np.where(ten.ce == win.end_d, win.end_d, last_sd)
    recent = (sd > anchor[ci] - 56) & att
    _not_worse(rng, on_task, on_draw, ci, sd, np.flatnonzero(recent & on_child[ci]), +1.0)
    _not_worse(rng, protests, pr_draw, ci, sd, np.flatnonzero(recent & pr_child[ci]), -1.0)
    on_task[~(att & on_child[ci])] = np.nan
    protests[~(att & pr_child[ci])] = np.nan
    return WideMeasures(on_task, protests, on_child, pr_child, on_effect, pr_rate, pr_ratio)


def planted(wm: WideMeasures, has_rows: np.ndarray, cid: list[str]) -> dict:
    """truth.json ``measures_planted``: per measure its direction, the planted effect and the
    children measured with theirs."""
    on = np.flatnonzero(wm.on_task_child & has_rows)
    pr = np.flatnonzero(wm.protests_child & has_rows)
    return {
        "on_task": {
            "direction": "higher", "unit": "percentage points",
            "effect": "child-led minus directed on-task percent (mixed sessions get half)",
            "effect_mean": ON_TASK_EFFECT_MEAN, "effect_sd": ON_TASK_EFFECT_SD,
            "children": {cid[i]: round(float(wm.on_task_effect[i]), 4) for i in on},
        },
        "protests": {
            "direction": "lower", "unit": "protests per session",
            "effect": "child-led sessions: Poisson rate = directed rate x child_led_ratio (mixed: its square root); "
                      "expected child-led minus directed = rate x (ratio - 1)",
            "ratio_mean": PROTESTS_RATIO_MEAN, "ratio_sd": PROTESTS_RATIO_SD,
            "children": {cid[i]: {"directed_rate": round(float(wm.protests_rate[i]), 4),
                                  "child_led_ratio": round(float(wm.protests_ratio[i]), 4),
                                  "expected_difference": round(float(wm.protests_rate[i] * (wm.protests_ratio[i] - 1)),
                                                               4)} for i in pr},
        },
    }
