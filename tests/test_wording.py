"""``stats.wording``: what an interval, a test and an effect mean, in one table of cases, and the
pages and the pack saying exactly its words."""

from __future__ import annotations

from pathlib import Path

import pytest

from stats import wording
from stats.wording import DISAGREE, HIGHER, LOWER, NO_DIFFERENCE, TOO_FEW

NAN = float("nan")

# (estimate, lo, hi, p, higher_is_better, kind, words, favourable, judgement)
CASES = [
    # interval entirely above 0, the test agrees
    (0.4, 0.1, 0.7, 0.01, True, HIGHER, "likely higher", True, "likely better"),
    (0.4, 0.1, 0.7, 0.01, False, HIGHER, "likely higher", False, "likely worse"),
    # entirely below 0
    (-0.4, -0.7, -0.1, 0.01, True, LOWER, "likely lower", False, "likely worse"),
    (-0.4, -0.7, -0.1, 0.01, False, LOWER, "likely lower", True, "likely better"),
    # spanning 0 (and touching it: the interval includes the null)
    (0.1, -0.2, 0.4, 0.30, True, NO_DIFFERENCE, "compatible with no difference", None,
     "compatible with no difference"),
    (0.1, -0.2, 0.4, 0.30, False, NO_DIFFERENCE, "compatible with no difference", None,
     "compatible with no difference"),
    (0.3, 0.0, 0.6, 0.04, True, NO_DIFFERENCE, "compatible with no difference", None,
     "compatible with no difference"),
    # the interval spans 0 while p < alpha: the interval leads (the pages' rule)
    (0.1, -0.01, 0.4, 0.03, True, NO_DIFFERENCE, "compatible with no difference", None,
     "compatible with no difference"),
    # the interval excludes 0 but the test does not confirm it (p >= alpha, or no p)
    (0.4, 0.1, 0.7, 0.20, True, DISAGREE, "the interval and the signed-rank test disagree", None,
     "the interval and the signed-rank test disagree"),
    (-0.4, -0.7, -0.1, 0.05, False, DISAGREE, "the interval and the signed-rank test disagree", None,
     "the interval and the signed-rank test disagree"),
    (0.4, 0.1, 0.7, NAN, True, DISAGREE, "the interval and the signed-rank test disagree", None,
     "the interval and the signed-rank test disagree"),
    # missing estimate or bound
    (NAN, NAN, NAN, NAN, True, TOO_FEW, "too few children to estimate", None, "too few children to estimate"),
    (0.4, None, 0.7, 0.01, False, TOO_FEW, "too few children to estimate", None, "too few children to estimate"),
    (0.4, "<5", "<5", "<5", True, TOO_FEW, "too few children to estimate", None, "too few children to estimate"),
]


@pytest.mark.parametrize("est, lo, hi, p, better_up, kind, words, favourable, judgement", CASES)
def test_the_reading_of_a_difference(est, lo, hi, p, better_up, kind, words, favourable, judgement):
    r = wording.difference(est, lo, hi, p=p, alpha=0.05, higher_is_better=better_up)
    assert (r.kind, r.words, r.favourable, r.judgement) == (kind, words, favourable, judgement)


SENTENCES = {
    HIGHER: "The interval excludes zero, so a difference in this direction is likely in these children.",
    LOWER: "The interval excludes zero, so a difference in this direction is likely in these children.",
    NO_DIFFERENCE: "The interval includes zero: the data are compatible with no difference.",
    DISAGREE: "The interval excludes zero but the signed-rank test does not confirm it: treat it as a hint to look "
              "into, not a finding.",
}


@pytest.mark.parametrize("est, lo, hi, p, better_up, kind, words, favourable, judgement",
                         [c for c in CASES if c[5] != TOO_FEW])
def test_the_sentences_the_pages_print(est, lo, hi, p, better_up, kind, words, favourable, judgement):
    r = wording.difference(est, lo, hi, p=p, alpha=0.05, n=40, min_n=5, higher_is_better=better_up)
    assert r.sentence == SENTENCES[kind]


def test_few_children_add_the_precision_words():
    few = wording.difference(0.4, 0.1, 0.7, p=0.01, n=9, min_n=5)
    assert few.sentence == (SENTENCES[HIGHER] + " With only 9 children the estimate is imprecise and could move "
                            "with a few more children.")
    assert wording.difference(0.4, 0.1, 0.7, p=0.01, n=10, min_n=5).sentence == SENTENCES[HIGHER]
    spans = wording.difference(0.1, -0.2, 0.4, p=0.3, n=6, min_n=5)
    assert spans.sentence.startswith(SENTENCES[NO_DIFFERENCE] + " With only 6 children")
    assert wording.precision(None, 5) == "" and wording.precision(3, None) == ""


@pytest.mark.parametrize("n, sentence", [
    (3, "Only 3 children qualify for the comparison (at least 3 rated sessions of each approach); at least 5 "
        "children are needed before an average difference is estimated."),
    (1, "Only 1 child qualifies for the comparison (at least 3 rated sessions of each approach); at least 5 "
        "children are needed before an average difference is estimated."),
    (0, "No child qualifies for the comparison (at least 3 rated sessions of each approach); at least 5 "
        "children are needed before an average difference is estimated."),
])
def test_too_few_children_says_how_many_and_how_many_are_needed(n, sentence):
    r = wording.difference(NAN, NAN, NAN, n=n, min_n=5, criterion="at least 3 rated sessions of each approach")
    assert r.kind == TOO_FEW and r.sentence == sentence
    # an estimate analytics did not mark as estimated is not read either
    assert wording.difference(0.4, 0.1, 0.7, p=0.01, n=n, min_n=5, estimated=False).kind == TOO_FEW


def test_another_null_and_no_test():
    """NAP: 0.5 is no difference; a single child's NAP has no test beside its interval."""
    inc = wording.difference(0.6, 0.45, 0.75, null=0.5, test=None)
    assert inc.kind == NO_DIFFERENCE
    assert inc.sentence == "The interval includes 0.5: the data are compatible with no difference."
    above = wording.difference(0.8, 0.6, 0.9, null=0.5, test=None, who="this child's sessions")
    assert above.kind == HIGHER and above.favourable
    assert above.sentence == "The interval excludes 0.5, so a difference in this direction is likely in this child's " \
                             "sessions."
    assert wording.difference(0.2, 0.1, 0.4, null=0.5, test=None).kind == LOWER


def test_alpha_is_strict_and_follows_the_confidence():
    assert wording.difference(0.4, 0.1, 0.7, p=0.05, alpha=0.05).kind == DISAGREE
    assert wording.difference(0.4, 0.1, 0.7, p=0.049, alpha=0.05).kind == HIGHER
    assert wording.difference(0.4, 0.1, 0.7, p=0.05, alpha=1 - 0.90).kind == HIGHER   # a 90% interval


@pytest.mark.parametrize("p, text", [(0.0004, "p < 0.001"), (0.012, "p = 0.012"), (0.5, "p = 0.500"), (NAN, ""),
                                     (None, ""), ("<5", "")])
def test_p_values_in_words(p, text):
    assert wording.p_value(p) == text


def test_numbers_from_frames():
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    assert wording.number(np.float64(0.5)) == 0.5 and wording.number(np.int64(3)) == 3.0
    assert wording.number(pd.NA) is None and wording.number(np.nan) is None and wording.number(True) is None
    assert wording.number("0.5") is None   # text is not a number here: a suppressed "<5" reads as missing


def test_wording_imports_nothing_of_ours():
    import ast

    tree = ast.parse(Path(wording.__file__).read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert names <= {"__future__", "math", "dataclasses"}, names


# ------------------------------------------------------------------------- the pages and the pack use it

@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    import test_dashboard_support as support

    work = tmp_path_factory.mktemp("wording")
    return support.build_warehouse(work / "practice.duckdb", work)[0]


def test_the_approach_page_the_child_page_and_the_pack_print_the_same_reading(db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import analytics
    import test_dashboard_support as support
    from pipelines import settings, warehouse
    from reports import meeting_pack as mp

    monkeypatch.setenv("PIPELINES_DB", str(db))
    c = settings.get().comparison
    con = warehouse.connect_reader(db)
    try:
        at = AppTest.from_file(str(support.ROOT / "dashboard" / "streamlit_app.py"), default_timeout=60)
        at.query_params.update({"period": "all"})
        at.run()
        at.switch_page("app_pages/approach.py").run()
        assert not at.exception, at.exception[0].value
        o = analytics.approach_effects(con, at.session_state["filters"]).iloc[0]
        page = wording.difference(o["mean_diff"], o["ci_lo"], o["ci_hi"], p=o["wilcoxon_p"], alpha=1 - c.confidence,
                                  n=int(o["n_children"]), min_n=c.min_children, estimated=bool(o["estimated"]))
        assert page.sentence in " ".join(m.value for m in at.markdown)

        team = analytics.filter_options(con)["teams"][0]
        pack = mp.build_pack(con, team=team)
        e = pack.approach_effect.iloc[0]
        said = wording.difference(e["mean_diff"], e["ci_lo"], e["ci_hi"], p=e["wilcoxon_p"], alpha=1 - c.confidence,
                                  n=int(e["n_children"]), min_n=c.min_children, estimated=bool(e["estimated"]),
                                  criterion=f"at least {c.min_sessions_per_approach} rated sessions of each approach")
        trends = next(sec for sec in pack.sections if sec.key == "trends")
        assert any(said.sentence in line for line in trends.summary), trends.summary

        pairs = analytics.approach_pairs(con)
        child = str(pairs[pairs["eligible"].astype(bool)]["child_id"].iloc[0])
        at.query_params.update({"child": child})
        at.switch_page("app_pages/child_progress.py").run()
        assert not at.exception, at.exception[0].value
        comp = analytics.child_comparison(con, child, at.session_state["filters"])
        nap = wording.difference(comp["nap"], comp["nap_lo"], comp["nap_hi"], null=0.5, test=None,
                                 who="this child's sessions")
        assert nap.kind != TOO_FEW and nap.sentence in " ".join(m.value for m in at.markdown)
    finally:
        con.close()
