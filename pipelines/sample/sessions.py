"""The sessions: the weekly (or fortnightly) schedule of each child, who attended and why the
others did not, and how each session was delivered (approach, duration, setting)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import choice_rows, cumcount, group_last, month_day, rand_rank
from .constants import CBT, DISCHARGED, DROPOUT, LOWATT, OT, PLAY, SPEECH
from .people import Tenure, Window


@dataclass(frozen=True)
class Sessions:
    """One entry per scheduled session, sorted by child and then date."""
    ci: np.ndarray          # child index
    wi: np.ndarray          # week index in the grid
    sd: np.ndarray          # session date (day number)
    g_s: np.ndarray         # the child's planted group
    first_row: np.ndarray   # the child's first session (bool)
    last_row: np.ndarray    # the child's last session (bool)
    rev: np.ndarray         # sessions remaining after this one
    weeks: int              # weeks in the grid

    @property
    def n(self) -> int:
        return len(self.ci)


@dataclass(frozen=True)
class Delivery:
    """How each session was delivered: codes into constants.APPROACHES and SETTINGS."""
    app: np.ndarray
    dur: np.ndarray
    setting: np.ndarray


def schedule(rng: np.random.Generator, win: Window, ten: Tenure, grp: np.ndarray) -> Sessions:
    """The scheduled sessions: one a week (or every other week) on the child's weekday, from
    the child's first day in the window to its last; 8% moved to another weekday that week."""
    ws, end_d = win.ws, win.end_d
    week0 = ws - (ws + 3) % 7                      # Monday on or before the window start
    n_weeks = (end_d - week0) // 7 + 1
    wk = np.arange(n_weeks)
    grid = (week0 + 7 * wk[None, :] + ten.wday[:, None]).astype(np.int64)
    first_day, ce = ten.first_day, ten.ce
    ok = (grid >= first_day[:, None]) & (grid <= ce[:, None])
    ok &= ten.weekly[:, None] | (((wk[None, :] + ten.phase[:, None]) % 2) == 0)
    ci, wi = np.nonzero(ok)
    sd = grid[ci, wi]
    del grid, ok
    n = len(ci)
    resched = rng.random(n) < 0.08
    nd = week0 + 7 * wi + rng.integers(0, 5, n)
    resched &= (nd >= first_day[ci]) & (nd <= ce[ci])
    sd = np.where(resched, nd, sd)
    rev = np.zeros(n, np.int64)
    rev[::-1] = cumcount(ci[::-1])
    return Sessions(ci=ci, wi=wi, sd=sd, g_s=grp[ci], first_row=cumcount(ci) == 0,
                    last_row=group_last(ci), rev=rev, weeks=int(n_weeks))


def _miss_probability(rng: np.random.Generator, n_children: int, ses: Sessions) -> tuple[np.ndarray, np.ndarray]:
    """(chance each session is missed, its holiday flag): a child's base rate (a quarter of
    children miss in clusters: 2-4 week episodes), plus the Christmas holidays and August."""
    N, W, ci, wi = n_children, ses.weeks, ses.ci, ses.wi
    month, day = month_day(ses.sd)
    holiday = ((month == 12) & (day >= 20)) | ((month == 1) & (day <= 3))
    cluster = rng.random(N) < 0.25
    base = np.where(cluster, rng.beta(3, 14, N), rng.beta(2, 30, N))
    n_ep = rng.poisson(np.where(cluster, 1.2, 0.2))
    ep_child = np.repeat(np.arange(N), n_ep)
    ep_start = rng.integers(0, W, len(ep_child))
    ep_len = rng.integers(2, 5, len(ep_child))
    episode = np.zeros((N, W), np.float32)
    for off in range(4):
        m = off < ep_len
        w = ep_start[m] + off
        keep = w < W
        episode[ep_child[m][keep], w[keep]] = 0.7
    return base[ci] + 0.35 * holiday + 0.15 * (month == 8) + episode[ci, wi], holiday


def attendance(rng: np.random.Generator, win: Window, n_children: int, ses: Sessions) -> tuple[np.ndarray, np.ndarray]:
    """(attended, attendance code into constants.ATTENDANCE) of each session.

    The intake is attended. In the last 8 weeks everyone not planted keeps at least 80%
    attendance, the low-attendance group falls under 60% (its last session attended), and
    drop-outs miss most of their last three sessions. A missed session is cancelled,
    late-cancelled, a no-show or clinician-cancelled (more clinician cancellations in the
    holidays)."""
    N, ci, g_s, end_d = n_children, ses.ci, ses.g_s, win.end_d
    p_miss, holiday = _miss_probability(rng, N, ses)
    win8 = ses.sd > end_d - 56
    p_miss = np.where(win8 & (g_s == LOWATT), 0.6, p_miss)
    p_miss = np.where((g_s == DROPOUT) & (ses.rev < 3), 0.6, p_miss)
    miss = rng.random(ses.n) < np.clip(p_miss, 0, 0.95)
    miss[ses.first_row] = False                    # intake is attended

    # last 8 weeks: everyone not planted keeps >= 80% attendance
    normal = ~np.isin(g_s, (LOWATT, DROPOUT, DISCHARGED))
    nsched = np.bincount(ci[win8], minlength=N)
    allowed = np.floor(0.2 * nsched).astype(np.int64)
    s_idx, rank = rand_rank(rng, np.flatnonzero(win8 & normal & miss), ci)
    miss[s_idx[rank >= allowed[ci[s_idx]]]] = False
    # low attendance: under 60% in the last 8 weeks, but the last session attended
    low_win = win8 & (g_s == LOWATT)
    miss[low_win & ses.last_row] = False
    max_att = np.ceil(0.6 * nsched).astype(np.int64) - 1
    s_idx, rank = rand_rank(rng, np.flatnonzero(low_win & ~miss & ~ses.last_row), ci)
    miss[s_idx[rank >= (max_att[ci[s_idx]] - 1)]] = True
    att = ~miss

    miss_p = np.array([0.42, 0.18, 0.28, 0.12])
    miss_p_hol = np.array([0.30, 0.10, 0.20, 0.40])
    mtype = choice_rows(rng, np.where(holiday[:, None], miss_p_hol, miss_p)) + 1
    return att, np.where(att, 0, mtype)


def delivery(rng: np.random.Generator, mod: np.ndarray, ses: Sessions) -> Delivery:
    """Approach, duration and setting of each session.

    Each child has its own mix of approaches (Dirichlet 2:2:1 child-led:directed:mixed), a
    standard duration for its modality (kept 90% of the time) and a main setting (88%)."""
    N, n, ci = len(mod), ses.n, ses.ci
    app_p = rng.dirichlet([2.0, 2.0, 1.0], N)
    app = choice_rows(rng, app_p[ci])
    dur_opts = {CBT: ([50, 60], [0.7, 0.3]), OT: ([45, 60], [0.6, 0.4]),
                SPEECH: ([30, 45], [0.6, 0.4]), PLAY: ([45, 50], [0.5, 0.5])}
    std_dur = np.zeros(N, np.int64)
    for m, (vals, p) in dur_opts.items():
        sel = np.flatnonzero(mod == m)
        std_dur[sel] = rng.choice(vals, size=len(sel), p=p)
    dur = np.where(rng.random(n) < 0.9, std_dur[ci], rng.choice([30, 45, 50, 60], size=n))
    set_p = {CBT: [0.50, 0.05, 0.10, 0.30, 0.05], OT: [0.55, 0.15, 0.20, 0.05, 0.05],
             SPEECH: [0.50, 0.10, 0.20, 0.15, 0.05], PLAY: [0.60, 0.10, 0.15, 0.05, 0.10]}
    main_set = choice_rows(rng, np.array([set_p[m] for m in range(4)])[mod])
    other = (main_set[ci] + rng.integers(1, 5, n)) % 5
    setting = np.where(rng.random(n) < 0.88, main_set[ci], other)
    return Delivery(app=app, dur=dur, setting=setting)
