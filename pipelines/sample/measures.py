"""Standardised outcome measures: which children are measured, when (the first attended
session of each quarter of their care), their scores, and the planted reliable change.

SD, reliability and direction come from the measures catalogue (``measures.toml``, read by
``pipelines.measures``, which the analytics read too); only the score range of each instrument
is ours (``constants.SCORE_RANGES``). The reliable change threshold is Jacobson &
Truax (1991): 1.96 * sqrt(2) * SD * sqrt(1 - r).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipelines import measures as catalogue
from .constants import CBT, MEASURE_NAMES, NONE, OT, PLAY, SCORE_RANGES
from .people import Children, Tenure, Window
from .sessions import Sessions



@dataclass(frozen=True)
class MeasureSpec:
    """One measure as the sample uses it: the reference's SD, reliability and direction, and
    the instrument's score range."""
    name: str
    sd: float
    reliability: float
    higher_is_better: bool
    lo: float
    hi: float
    decimals: int

    @property
    def rci_threshold(self) -> float:
        """Smallest reliable change in raw points: 1.96 * sqrt(2) * SD * sqrt(1 - r)."""
        return 1.96 * math.sqrt(2) * self.sd * math.sqrt(1 - self.reliability)

    @property
    def error_sd(self) -> float:
        """Standard error of measurement: SD * sqrt(1 - r)."""
        return self.sd * math.sqrt(1 - self.reliability)


@dataclass(frozen=True)
class Measures:
    """The measured sessions (one per child and quarter) and what the truth file needs."""
    specs: tuple[MeasureSpec, ...]  # in constants.MEASURE_NAMES order (code 0, 1)
    mrows: np.ndarray               # session index of each measurement, by child and date
    mchild: np.ndarray              # child index of each measurement
    score: np.ndarray               # score of each measurement
    m_code: np.ndarray              # per child: measure code, -1 = not measured
    m_count: np.ndarray             # per child: measurements
    rci: np.ndarray                 # per measure code: reliable change threshold
    bad_sign: np.ndarray            # per measure code: +1 when higher is worse, else -1

    def per_session(self, n_sessions: int) -> tuple[np.ndarray, np.ndarray]:
        """(measure code, score) of each session: -1 and NaN where nothing was measured."""
        measure_of_session = np.full(n_sessions, -1)
        measure_of_session[self.mrows] = self.m_code[self.mchild]
        score_of_session = np.full(n_sessions, np.nan)
        score_of_session[self.mrows] = self.score
        return measure_of_session, score_of_session


def measure_specs(reference: str | Path | None = None) -> tuple[MeasureSpec, ...]:
    """The measures of constants.MEASURE_NAMES from the measures catalogue (``measures.toml``, or
    ``$PIPELINES_MEASURES``, unless a path is given); a ValueError names the file, and the
    measure and key of a bad value, or the measures it lacks or lists without sd and reliability."""
    cat = catalogue.catalogue(reference)
    where = catalogue.shown(Path(reference) if reference is not None else None)
    missing = [m for m in MEASURE_NAMES if m not in cat or cat[m].sd is None]
    if missing:
        raise ValueError(f"{where}: no [measure.ID] table with sd and reliability for measure(s) "
                         f"{', '.join(missing)}")
    specs = []
    for name in MEASURE_NAMES:
        m = cat[name]
        lo, hi, decimals = SCORE_RANGES[name]
        specs.append(MeasureSpec(name=name, sd=m.sd, reliability=m.reliability, higher_is_better=m.higher_is_better,
                                 lo=lo, hi=hi, decimals=decimals))
    return tuple(specs)


def _schedule(rng: np.random.Generator, kids: Children, ses: Sessions, att_rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """(measure code of each child, -1 = none; session index of each measurement).

    Every CBT child is measured with SCAS-P, half of the OT children with COPM-P, and a fifth
    of play-therapy children aged 6+ with SCAS-P; at the first attended session of each
    91-day quarter counted from their first attended session."""
    N, ci, sd, mod = kids.n, ses.ci, ses.sd, kids.mod
    m_code = np.full(N, -1)
    m_code[mod == CBT] = 0
    m_code[(mod == OT) & (rng.random(N) < 0.5)] = 1
    m_code[(mod == PLAY) & (kids.age >= 6) & (rng.random(N) < 0.2)] = 0
    measured = m_code >= 0
    first_att = np.full(N, -1, np.int64)
    first_att[ci[att_rows[::-1]]] = sd[att_rows[::-1]]
    mrows = att_rows[measured[ci[att_rows]]]
    q = (sd[mrows] - first_att[ci[mrows]]) // 91
    newq = np.ones(len(mrows), bool)
    newq[1:] = (ci[mrows][1:] != ci[mrows][:-1]) | (q[1:] != q[:-1])
    return m_code, mrows[newq]                     # first attended session of each quarter


def measures(rng: np.random.Generator, win: Window, kids: Children, grp: np.ndarray, ten: Tenure,
             ses: Sessions, att: np.ndarray, specs: tuple[MeasureSpec, ...]) -> Measures:
    """Scores of the measured sessions.

    3% of the children (unplanted, measured twice or more, seen 26+ weeks) deteriorate
    reliably (1.3-1.8 thresholds worse from first to last score); half of the others improve
    (1.2-2.0 thresholds); the rest move under half a threshold. Scores move linearly from
    first to last, with measurement error (half an SEM) in between, clipped to the
    instrument's range and rounded to its decimals."""
    N, ci, sd, end_d = kids.n, ses.ci, ses.sd, win.end_d
    att_rows = np.flatnonzero(att)
    m_code, mrows = _schedule(rng, kids, ses, att_rows)
    measured = m_code >= 0
    m_first = np.full(N, -1, np.int64)
    m_first[ci[mrows[::-1]]] = sd[mrows[::-1]]
    m_last = np.full(N, -1, np.int64)
    m_last[ci[mrows]] = sd[mrows]
    m_count = np.bincount(ci[mrows], minlength=N)
    eligible = np.flatnonzero(measured & (grp == NONE) & (ten.first_day <= end_d - 26 * 7) & (m_count >= 2))
    n_det = min(len(eligible), max(1, int(math.floor(0.03 * N + 0.5))))
    det = np.zeros(N, bool)
    if n_det:
        det[rng.choice(eligible, size=n_det, replace=False)] = True
    imp = measured & ~det & (rng.random(N) < 0.5)
    rci = np.array([s.rci_threshold for s in specs])
    bad_sign = np.array([-1.0 if s.higher_is_better else 1.0 for s in specs])
    mc = np.maximum(m_code, 0)
    delta = np.where(det, rng.uniform(1.3, 1.8, N), np.where(imp, -rng.uniform(1.2, 2.0, N),
                                                             rng.uniform(-0.5, 0.5, N))) * rci[mc] * bad_sign[mc]
    scas_base = np.where(det, rng.normal(38, 8, N), np.where(imp, rng.normal(48, 9, N), rng.normal(40, 10, N)))
    scas_base = np.clip(scas_base, np.where(imp, 38, 15), np.where(det, 70, 80))
    copm_base = np.where(det, rng.normal(5.8, 0.5, N), np.where(imp, rng.normal(4.0, 0.7, N), rng.normal(4.5, 1.0, N)))
    copm_base = np.clip(copm_base, np.where(det, 5.0, 2.0), np.where(det, 7.0, np.where(imp, 6.0, 8.0)))
    m_base = np.where(m_code == 0, scas_base, copm_base)
    mchild = ci[mrows]
    span_m = np.maximum(m_last[mchild] - m_first[mchild], 1)
    mfrac = (sd[mrows] - m_first[mchild]) / span_m
    inner = (sd[mrows] != m_first[mchild]) & (sd[mrows] != m_last[mchild])
    err_sd = np.array([s.error_sd for s in specs])
    score = m_base[mchild] + delta[mchild] * mfrac + inner * rng.normal(0, 0.5, len(mrows)) * err_sd[mc[mchild]]
    lo = np.array([s.lo for s in specs])[mc[mchild]]
    hi = np.array([s.hi for s in specs])[mc[mchild]]
    score = np.clip(score, lo, hi)
    code = mc[mchild]
    for c, spec in enumerate(specs):
        score[code == c] = np.round(score[code == c], spec.decimals)
    return Measures(specs=specs, mrows=mrows, mchild=mchild, score=score, m_code=m_code,
                    m_count=m_count, rci=rci, bad_sign=bad_sign)
