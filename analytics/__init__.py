"""The analytics layer the dashboard pages use (see docs/analytics_api.md).

Pages hold no SQL and no statistics: they call these functions with a DuckDB connection
and a ``Filters``. Every filter value reaches SQL as a bound ``$parameter`` (the SQL lives
in ``queries/analysis``); statistics come from ``stats`` (grouped versions in
``stats.single_case_groups`` and ``stats.paired_groups``). Nothing
loops over children in Python: per-child statistics are computed for all children at once
(pandas / numpy / SQL).

One module per question the pages ask:

====================  =====================================================================
``filters``           ``Filters``, ``resolve``, ``as_of``, ``filter_options``, ``measure_options``
``attendance``        ``attendance_detail`` (attendance outcomes by month, weekday, time of day...)
``practice``          ``kpis``, ``kpis_by``, ``attended_by``, ``monthly_trends``, ``group_grid``, ``child_periods``
``children``          ``child_list``, ``child_timeline``, ``child_goal_ratings``, ``gas_reviews``,
                      ``child_gas_t``, ``goal_summary``, ``trial_sessions``, ``mastery_summary``
``period_values``     ``measure_values``, ``recent_trends_measures`` (several measures at once: the meeting pack),
                      ``caseload_kpis`` (two periods, by a column and not, from one query: the pack's caseload),
                      ``goal_best_levels``
``trends``            ``child_trends``
``child_story``       ``child_record``, ``child_goals``, ``child_goal_observations``, ``child_phases``
                      (one child's story: the child page and the progress report)
``approach``          ``approach_*``, ``child_comparison`` (child-led vs directed)
``uptake``            ``child_led_uptake``, ``approach_gap_by_quarter`` (how much is child-led; is the gap changing),
                      ``approach_pairs_and_gap`` (the pairing and the gap from one query)
``outcomes``          ``reliable_change``, ``outcome_shares`` (practice outcomes on standardised measures)
``attention``         ``flags``, ``compute_flags`` (needs attention)
``data_quality``      ``rejects``
``stored``            ``build_tables`` and ``STEPS``: practice-wide results stored at load time
``freshness``         whether the stored tables may be used (data, settings, code key)
``text``, ``_db``     plain-language helpers, query plumbing (settings: ``pipelines.settings.get()``)
====================  =====================================================================

Practice-wide per-child results are computed once per load by ``stored.build_tables`` (the
entry points pass ``after_build=analytics.stored.STEPS`` to the load). Query functions read
those tables when the filter is empty (or, for flags, when the as-of date and settings
match) and otherwise compute the same thing for the filtered data at query time, vectorised.

Methods (details and references in the modules' docstrings and in ``stats``):
GAS T-score (Kiresuk & Sherman 1968); Theil-Sen slope with Sen's CI and Mann-Kendall test
(Theil 1950; Sen 1968; Mann 1945; Kendall 1975); NAP with Newcombe CI (Parker & Vannest
2009; Newcombe 2006); Tau and Tau-U (Parker, Vannest, Davis & Sauber 2011); Tau-BC (Tarlow
2017); PND (Scruggs, Mastropieri & Casto 1987); paired differences with bootstrap
percentile CI (Efron & Tibshirani 1993), Wilcoxon signed-rank (Wilcoxon 1945) and d_z
(Cohen 1988; Lakens 2013); reliable change index (Jacobson & Truax 1991); means of
session ratings with a child-clustered (CR1) standard error (Liang & Zeger 1986; Cameron
& Miller 2015) because sessions of one child are not independent.
"""

from __future__ import annotations

from analytics.approach import (approach_breakdowns, approach_effects, approach_summaries, approach_gas, approach_gas_pairs,
                                approach_pairs, child_comparison)
from analytics.attendance import attendance_detail
from analytics.attention import FLAG_CODES, compute_flags, flags
from analytics.child_story import child_goal_observations, child_goals, child_phases, child_record
from analytics.uptake import approach_gap_by_quarter, approach_pairs_and_gap, child_led_uptake
from analytics.children import (child_gas_t, child_goal_ratings, child_list, child_timeline, gas_reviews, goal_summary,
                                mastery_summary, trial_sessions)
from analytics.data_quality import rejects
from analytics.filters import BY_OPTIONS, Filters, as_of, filter_options, measure_options, resolve
from analytics.outcomes import outcome_shares, reliable_change
from analytics.practice import attended_by, child_periods, group_grid, kpis, kpis_by, monthly_trends
from analytics.stored import STEPS, build_tables
from analytics.trends import child_trends
from analytics.approach import approach_effects_measures
from analytics.period_values import caseload_kpis, goal_best_levels, measure_values, recent_trends_measures

__all__ = [
    "Filters", "BY_OPTIONS", "FLAG_CODES", "STEPS",
    "filter_options", "as_of", "resolve", "kpis", "kpis_by", "attended_by", "monthly_trends", "group_grid", "child_list",
    "child_timeline", "child_goal_ratings", "child_gas_t", "child_comparison", "child_periods",
    "child_trends", "approach_effects", "approach_pairs", "approach_gas", "approach_gas_pairs",
    "approach_breakdowns", "reliable_change", "flags", "goal_summary", "gas_reviews", "compute_flags",
    "build_tables", "rejects", "child_record", "child_goals", "child_goal_observations", "child_phases",
    "attendance_detail", "child_led_uptake", "approach_gap_by_quarter", "approach_pairs_and_gap", "mastery_summary",
    "trial_sessions",
    "measure_options", "approach_summaries", "outcome_shares",
    "approach_effects_measures", "measure_values", "recent_trends_measures", "caseload_kpis", "goal_best_levels",
]
