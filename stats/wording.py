"""Statistics in words: what an interval, a test and an effect mean, said the same way everywhere.

Pure (the standard library only, nothing of ours): pages, the meeting pack and reports ask
``difference`` what an estimated difference with its interval (and optionally its test) means,
and print the words it returns; none of them decides that itself.

The reading of a difference (Amrhein, Greenland & McShane 2019: an interval that includes the
null is *compatible* with no difference, not evidence of none):

* missing, or not estimated (too few children): ``TOO_FEW``, "too few children to estimate";
* the interval includes the null value: ``NO_DIFFERENCE``, "compatible with no difference";
* the interval entirely above it and the test agrees: ``HIGHER``, "likely higher";
* the interval entirely below it and the test agrees: ``LOWER``, "likely lower";
* the interval excludes it but the test does not confirm it: ``DISAGREE``, "the interval and
  the signed-rank test disagree" (a hint to look into, not a finding).

The test agrees when its p is below ``alpha`` (the interval's 1 - confidence, so the two
answer the same question at the same level); without a test (``test=None``) the interval
alone decides. An interval that includes the null reads as compatible with no difference
whatever the test says (the interval is what the pages show and lead with). Whether "likely
higher" is good news depends on the measure: ``higher_is_better`` (engagement, GAS: True; a
symptom score: False) gives ``favourable`` and ``judgement`` ("likely better" / "likely
worse"). Below twice the minimum number of children the sentence adds that the estimate is
imprecise (``precision``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HIGHER, LOWER, NO_DIFFERENCE, DISAGREE, TOO_FEW = "higher", "lower", "no_difference", "disagree", "too_few"
WORDS = {HIGHER: "likely higher", LOWER: "likely lower", NO_DIFFERENCE: "compatible with no difference",
         TOO_FEW: "too few children to estimate"}
SIGNED_RANK = "signed-rank test"


@dataclass(frozen=True)
class Reading:
    """What a difference means: ``kind`` (one of the constants), ``words`` (a short phrase for a
    table or chart), ``sentence`` (what a page or pack prints), ``favourable`` (True when the
    likely direction is the better one, False when the worse one, None without a likely direction)."""

    kind: str
    words: str
    sentence: str
    favourable: bool | None = None

    @property
    def judgement(self) -> str:
        """"likely better" / "likely worse" when there is a likely direction, else ``words``."""
        if self.favourable is None:
            return self.words
        return "likely better" if self.favourable else "likely worse"


def number(x: object) -> float | None:
    """``x`` as a float, or None when it is missing (None, NaN, pandas NA) or not a number ("<5")."""
    if x is None or isinstance(x, (str, bytes, bool)):
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def p_value(p: object) -> str:
    """"p < 0.001", "p = 0.012", or "" when there is no p."""
    v = number(p)
    if v is None:
        return ""
    return "p < 0.001" if v < 0.001 else f"p = {v:.3f}"


def children(n: int) -> str:
    """"1 child", "3 children"."""
    return f"{n} child" if n == 1 else f"{n} children"


def precision(n: object, min_n: object) -> str:
    """A sentence when an estimate rests on fewer than twice the minimum number of children, else ""."""
    k, m = number(n), number(min_n)
    if k is None or m is None or k >= 2 * m:
        return ""
    return f"With only {int(k)} children the estimate is imprecise and could move with a few more children."


def too_few(n: object = None, min_n: object = None, criterion: str = "") -> str:
    """Why no difference is estimated: "Only 3 children qualify for the comparison (criterion); at
    least 5 children are needed before an average difference is estimated." """
    k, m = number(n), number(min_n)
    crit = f" ({criterion})" if criterion else ""
    if k is None:
        who = "Too few children qualify"
    elif int(k) == 0:
        who = "No child qualifies"
    else:
        who = f"Only {children(int(k))} {'qualifies' if int(k) == 1 else 'qualify'}"
    need = (f"; at least {int(m)} children are needed before an average difference is estimated" if m is not None
            else "; an average difference is not estimated")
    return f"{who} for the comparison{crit}{need}."


def _null_words(null: float) -> str:
    return "zero" if null == 0 else f"{null:g}"


def difference(estimate: object, lo: object, hi: object, *, p: object = None, alpha: float = 0.05,
               test: str | None = SIGNED_RANK, null: float = 0.0, n: object = None, min_n: object = None,
               higher_is_better: bool = True, estimated: bool = True, criterion: str = "",
               who: str = "these children") -> Reading:
    """What a difference with its interval ``lo``..``hi`` (and the ``test``'s ``p``) means.

    ``null``: the value meaning "no difference" (0 for a mean difference, 0.5 for NAP).
    ``n`` / ``min_n``: the children it rests on and the minimum for an estimate (precision
    words below 2 x ``min_n``; the too-few sentence). ``estimated=False`` (the analytics
    row's flag) or a missing estimate or bound gives ``TOO_FEW``. ``who`` ends the sentence
    of a likely difference ("these children", "this child's sessions").
    """
    est, a, b = number(estimate), number(lo), number(hi)
    if not estimated or est is None or a is None or b is None:
        return Reading(TOO_FEW, WORDS[TOO_FEW], too_few(n, min_n, criterion))
    a, b = min(a, b), max(a, b)
    nw = _null_words(null)
    more = precision(n, min_n)
    if a <= null <= b:
        return Reading(NO_DIFFERENCE, WORDS[NO_DIFFERENCE],
                       _join(f"The interval includes {nw}: the data are compatible with no difference.", more))
    side = HIGHER if a > null else LOWER
    pv = number(p)
    if test is not None and (pv is None or pv >= alpha):
        return Reading(DISAGREE, f"the interval and the {test} disagree",
                       _join(f"The interval excludes {nw} but the {test} does not confirm it: treat it as a hint to "
                             "look into, not a finding.", more))
    return Reading(side, WORDS[side],
                   _join(f"The interval excludes {nw}, so a difference in this direction is likely in {who}.", more),
                   favourable=(side == HIGHER) == higher_is_better)


def _join(*parts: str) -> str:
    return " ".join(x for x in parts if x)
