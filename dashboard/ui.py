"""Shared UI: the filter bar (sidebar, mirrored in the URL), charts with their tables, messages
and number formatting.

URL parameters (``st.query_params``), all optional; a bookmarked or shared address restores
the view, and an invalid value is ignored with a warning at the top of the page that says
why (a team or therapist outside the viewer's scope: "Team X is not among the teams you can
see; showing your teams"):

=============  ===========================================================================
``period``     ``2w``, ``4w``, ``3m`` (default), ``6m``, ``12m`` (rolling, ending at the latest
               session loaded), ``month``, ``quarter``, ``year`` (so far), ``last_month``,
               ``last_quarter``, ``last_year`` (calendar), ``all`` or ``custom``
``compare``    ``year_before`` (the same dates a year earlier); default: the period just before
``from``       ``YYYY-MM-DD`` (with ``to``: a custom period; implies ``period=custom``)
``to``         ``YYYY-MM-DD``
``modality``   repeated for several values: ``?modality=OT&modality=speech``
``age``        age group label from settings.toml (``3-5``)
``team``       team name
``therapist``  therapist id
``approach``   ``child-led``, ``directed``, ``mixed``
``child``      the child shown on the Child progress page
``measure``    outcome measure (measures.toml id, default ``engagement``; ``measure_choice``)
=============  ===========================================================================

A page whose figures ignore some filters hides them in the bar and says so
(``PAGE_FILTERS``): the Team meeting pack uses the period, team and therapist only, and
opens on the viewer's own team (``dashboard.teams.own_team``) when the address names none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote_plus, urlencode

import streamlit as st

from dashboard import data, date_boxes, periods
from dashboard.chart_box import CHART_CONFIG, TABLE_ROWS, chart, chart_table  # noqa: F401  (ui.chart, ...)
from dashboard.measure_choice import (DEFAULT_MEASURE, MEASURE_PAGES, measure, measure_choices,  # noqa: F401
                                      measure_from_url, measure_meta, measure_selector, measure_title)  # pages: ui.*
# the pages' ui.md_escape, ui.md_code (the text helpers live in dashboard.text)
from dashboard.text import WORD_JOINER, md_code, md_escape, plotly_text as _plotly_text  # noqa: F401
from reports.formats import count, day, is_missing, num, pct, to_date  # noqa: F401  (the pages' formats: ui.num, ...)

# key -> (label, rolling days or None): the periods of dashboard.periods (calendar ones too)
PERIODS: dict[str, tuple[str, int | None]] = {k: (v[0], v[1]) for k, v in periods.PERIODS.items()}
DEFAULT_PERIOD = periods.DEFAULT_PERIOD
COMPARE, DEFAULT_COMPARE = periods.COMPARE, periods.DEFAULT_COMPARE
# url key -> (widget key, filter_options key, label, Filters field)
MULTI: dict[str, tuple[str, str, str, str]] = {
    "modality": ("f_modality", "modalities", "Modality", "modalities"),
    "age": ("f_age", "age_groups", "Age group", "age_groups"),
    "team": ("f_team", "teams", "Team", "teams"),
    "therapist": ("f_therapist", "therapists", "Therapist", "therapists"),
    "approach": ("f_approach", "approaches", "Approach", "approaches"),
}
FILTER_URL_KEYS = ("period", "from", "to", "compare", *MULTI, "measure")
# page (url path) -> the filters its figures ignore (hidden in the bar, kept for the other pages),
# why, and whether it opens on the viewer's own team when no team or therapist is chosen
PAGE_FILTERS: dict[str, dict[str, Any]] = {
    "team_meeting": {
        "hide": ("modality", "age", "approach"), "own_team": True,
        "note": "Modality, age group and approach do not apply to the meeting pack (it covers the whole caseload of "
                "the team or therapist), so they are not shown here; any you chose stay set for the other pages."},
}
PAGE_FILES = {
    "overview": "app_pages/overview.py",
    "child": "app_pages/child_progress.py",
    "groups": "app_pages/groups.py",
    "approach": "app_pages/approach.py",
    "attention": "app_pages/needs_attention.py",
    "attendance": "app_pages/attendance.py",
    "meeting": "app_pages/team_meeting.py",
    "data": "app_pages/data_loads.py",
    "audit": "app_pages/audit_log.py",
    "access": "app_pages/access.py",
}
CHILD_URL_PATH = "child_progress"


# ----------------------------------------------------------------------------- messages

def empty(message: str) -> None:
    """The empty-selection message (never an exception, never a blank page)."""
    st.info(message, icon=":material/filter_alt_off:")


def fetch(name: str, *args: Any, **kwargs: Any) -> Any:
    """``analytics.<name>(con, *args, **kwargs)`` for this warehouse version (cached),
    within the viewer's scope."""
    return data.call(name, *args, **kwargs)


def practice_view() -> bool:
    """For supervisors and therapists: a switch between their own children and the
    de-identified practice figures (``?view=practice`` in the URL). Always False for a lead,
    who sees the practice anyway."""
    from dashboard import auth

    if auth.viewer().is_lead:
        return False
    url = st.query_params.get("view")
    if url and url != st.session_state.get("_view_url_seen"):
        # a link that says which figures: the address wins
        st.session_state["_fig_view_choice"] = "practice" if url == "practice" else "mine"
    st.session_state["_view_url_seen"] = url
    # the choice outlives the widget (a widget's state is dropped when another page runs)
    st.session_state["fig_view"] = st.session_state.get("_fig_view_choice", "mine")

    def _keep() -> None:
        st.session_state["_fig_view_choice"] = st.session_state.get("fig_view") or "mine"
    choice = st.segmented_control(
        "Figures for", ["mine", "practice"], key="fig_view", on_change=_keep,
        format_func=lambda v: "My children" if v == "mine" else "Whole practice (de-identified)",
        help=f"Whole practice: aggregates only, without team, therapist or approach filters; a group of fewer "
             f"than {data.small_cell_min()} children in a month is left out of every figure.") or "mine"
    if choice == "practice":
        st.query_params["view"] = "practice"
        st.caption(f"Whole-practice figures, de-identified: whole calendar months, by modality and age group. A "
                   f"group (modality × age group × month) of fewer than {data.small_cell_min()} children is left out "
                   "of every figure, totals included, so no figure can be worked out from others; the figures are "
                   "those of the groups shown. Team, therapist and approach filters do not apply.")
    elif "view" in st.query_params:
        del st.query_params["view"]
    return choice == "practice"


def practice_filters(f: Any) -> Any:
    """The filters the practice figures use (``access.practice.practice_filters``): whole calendar months,
    modalities and age groups; no team, therapist or approach."""
    from access.practice import practice_filters as _practice
    return _practice(f)


def fetch_aggregate(practice: bool, name: str, f: Any, **kwargs: Any) -> Any:
    """An aggregate figure: the viewer's own (``fetch``) or the de-identified practice's."""
    return data.practice(name, f, **kwargs) if practice else data.call(name, f, **kwargs)


# ----------------------------------------------------------------------------- filters

def options() -> dict:
    """What each filter can take for this viewer: their teams, therapists and children; the
    practice's modalities, age groups, approaches and dates (labels, not child data)."""
    return _options() or {}


def _options() -> dict | None:
    try:
        opts = data.call("filter_options")
        if st.session_state.get("_viewer") is not None and not st.session_state["_viewer"].is_lead:
            opts = {**opts, **data.practice_categories()}
        return {**opts, "measures": [m["measure"] for m in measure_choices()] or [DEFAULT_MEASURE]}
    except FileNotFoundError:
        return None


def _default_state() -> dict[str, Any]:
    return {"period": DEFAULT_PERIOD, "from": None, "to": None, "compare": DEFAULT_COMPARE, **{k: [] for k in MULTI},
            "measure": DEFAULT_MEASURE}


def _parse_date(raw: str, key: str, warnings: list[str]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        warnings.append(f"Ignored from the link: {key}={md_escape(raw)} is not a date (YYYY-MM-DD).")
        return None


def _dropped(key: str, label: str, value: str, shown: str | None) -> str:
    """Why a value of the address was dropped, as one sentence (markdown, the value escaped).

    ``shown`` (e.g. "your teams") is what a viewer limited to part of the practice sees
    instead: then a team or therapist outside that part is named as such, not as missing
    (and whether it exists at all is not told)."""
    if shown and key in ("team", "therapist"):
        return f"{label} {md_escape(value)} is not among the {label.lower()}s you can see; showing {shown}."
    return f"Ignored from the link: {label.lower()} {md_escape(value)} is not in the data."


def state_from_url(qp: dict[str, list[str]], opts: dict, shown: str | None = None
                   ) -> tuple[dict[str, Any], list[str]]:
    """Filter state from URL values (every key a list of strings); invalid values are dropped and
    each named in a warning sentence (markdown, every value from the URL escaped: ``md_escape``).
    ``shown``: what a viewer limited to part of the practice sees instead (``_dropped``)."""
    state = _default_state()
    warnings: list[str] = []
    if qp.get("period"):
        p = qp["period"][-1]
        if p in PERIODS:
            state["period"] = p
        else:
            warnings.append(f"Ignored from the link: period {md_escape(p)} is unknown (use {', '.join(PERIODS)}).")
    if qp.get("compare"):
        c = qp["compare"][-1]
        if c in COMPARE:
            state["compare"] = c
        else:
            warnings.append(f"Ignored from the link: compare {md_escape(c)} is unknown (use {', '.join(COMPARE)}).")
    d_from = _parse_date(qp["from"][-1], "from", warnings) if qp.get("from") else None
    d_to = _parse_date(qp["to"][-1], "to", warnings) if qp.get("to") else None
    if d_from or d_to:
        lo, hi = to_date(opts.get("min_date")), to_date(opts.get("max_date"))
        d_from, d_to = d_from or lo, d_to or hi
        if d_from and d_to and d_from > d_to:
            warnings.append(f"Ignored from the link: from={d_from} is after to={d_to}, so both dates.")
        else:
            state.update({"period": "custom", "from": d_from, "to": d_to})
            moved = periods.outside_data(d_from, d_to, lo, hi)   # _apply_state shows the dates clamped
            warnings += [moved] if moved else []
    for key, (_w, opt_key, label, _f) in MULTI.items():
        allowed = [str(v) for v in opts.get(opt_key) or []]
        chosen: list[str] = []
        for raw in qp.get(key, []):
            parts = [raw] if raw in allowed else [p.strip() for p in raw.split(",") if p.strip()]
            for part in parts:
                if part in allowed:
                    if part not in chosen:
                        chosen.append(part)
                else:
                    warnings.append(_dropped(key, label, part, shown))
        state[key] = chosen
    state["measure"] = measure_from_url(qp, opts, warnings)
    return state, warnings


def _url_values() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in FILTER_URL_KEYS if st.query_params.get_all(k)}


def state_to_url(state: dict[str, Any]) -> dict[str, list[str]]:
    """The URL values of a filter state (defaults left out, so the plain address is the default view)."""
    out: dict[str, list[str]] = {}
    if state["period"] == "custom" and state.get("from") and state.get("to"):
        out["from"] = [state["from"].isoformat()]
        out["to"] = [state["to"].isoformat()]
    elif state["period"] not in (DEFAULT_PERIOD, "custom"):
        out["period"] = [state["period"]]
    if state.get("compare", DEFAULT_COMPARE) != DEFAULT_COMPARE:
        out["compare"] = [state["compare"]]
    for key in MULTI:
        if state.get(key):
            out[key] = list(state[key])
    out.update({"measure": [state["measure"]]} if state.get("measure", DEFAULT_MEASURE) != DEFAULT_MEASURE else {})
    return out


def _apply_state(state: dict[str, Any], opts: dict) -> None:
    st.session_state["f_period"] = state["period"]
    st.session_state["f_compare"] = state.get("compare") or DEFAULT_COMPARE
    lo, hi = to_date(opts.get("min_date")), to_date(opts.get("max_date"))
    if state["period"] == "custom" and state.get("from") and state.get("to"):
        st.session_state["f_range"] = (periods.clamp(state["from"], lo, hi), periods.clamp(state["to"], lo, hi))
    for key, (wkey, *_rest) in MULTI.items():
        st.session_state[wkey] = list(state[key])
    st.session_state["f_measure"] = state.get("measure") or DEFAULT_MEASURE


def _current_state() -> dict[str, Any]:
    state = _default_state()
    state["period"] = st.session_state.get("f_period", DEFAULT_PERIOD)
    state["compare"] = st.session_state.get("f_compare", DEFAULT_COMPARE)
    if state["period"] == "custom":
        rng = st.session_state.get("f_range") or ()
        if len(rng) >= 1:
            state["from"] = rng[0]
            state["to"] = rng[1] if len(rng) > 1 else rng[0]
    for key, (wkey, *_rest) in MULTI.items():
        state[key] = list(st.session_state.get(wkey) or [])
    state["measure"] = st.session_state.get("f_measure") or DEFAULT_MEASURE
    return state


def _clear_warnings() -> None:
    st.session_state["_url_warnings"] = []


def _reset() -> None:
    _clear_warnings()
    st.session_state["f_period"] = DEFAULT_PERIOD
    st.session_state["f_compare"] = DEFAULT_COMPARE
    for wkey, *_rest in MULTI.values():
        st.session_state[wkey] = []
    st.session_state["f_measure"] = DEFAULT_MEASURE
    st.session_state.pop("_filter_page", None)  # as if arriving: a page's own defaults apply again


def _scope_words() -> str | None:
    """What a viewer limited to part of the practice sees ("your teams", "your caseload"); None for a lead."""
    v = st.session_state.get("_viewer")
    if v is None or v.is_lead:
        return None
    return "your teams" if v.role == "supervisor" else "your caseload"


def _own_team_default(page: str | None, spec: dict[str, Any], opts: dict) -> None:
    """On arriving at a page that opens on the viewer's own team (``PAGE_FILTERS``) with no team
    and no therapist chosen: choose it in the bar (``dashboard.teams.own_team``) and keep why
    in ``st.session_state['own_team_reason']`` for the page to say."""
    arrived = st.session_state.get("_filter_page") != page
    st.session_state["_filter_page"] = page
    if not arrived:
        return
    st.session_state["own_team_reason"] = None
    if not spec.get("own_team") or st.session_state.get("f_team") or st.session_state.get("f_therapist"):
        return
    from dashboard import teams

    d_from, d_to = period_dates(_current_state(), opts)
    team, why = teams.own_team(st.session_state.get("_viewer"), [str(t) for t in opts.get("teams") or []],
                               data.Filters(date_from=d_from, date_to=d_to))
    if team is not None:
        st.session_state["f_team"] = [team]
        st.session_state["own_team_reason"] = why


def period_dates(state: dict[str, Any], opts: dict) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) day of the state's period for the data's dates (``dashboard.periods``)."""
    lo, hi = to_date(opts.get("min_date")), to_date(opts.get("max_date"))
    period = state["period"]
    if period == "custom" and state.get("from") and state.get("to"):
        return state["from"], state["to"]
    return periods.period_range(period, lo, hi)


def comparison() -> Any:
    """This run's comparison Filters (the period the headline figures are compared with:
    ``dashboard.periods.comparison_range``), or None when there is no data."""
    return st.session_state.get("comparison")


def comparison_words() -> str:
    """What the comparison period is, in words (``dashboard.periods.comparison_words``)."""
    state = st.session_state.get("filter_state") or {}
    return periods.comparison_words(state.get("period", DEFAULT_PERIOD), state.get("compare", DEFAULT_COMPARE))


def filter_bar(page: str | None = None) -> None:
    """The sidebar filter bar of ``page`` (its url path: ``PAGE_FILTERS`` says which filters it
    hides). Stores the Filters for this run in ``st.session_state['filters']``."""
    st.session_state["filters"] = None
    st.session_state["filter_state"] = None
    st.session_state["comparison"] = None
    spec = PAGE_FILTERS.get(page or "", {})
    hidden = set(spec.get("hide", ()))
    opts = _options()
    with st.sidebar:
        if opts is None or not opts.get("max_date"):
            st.caption("Filters appear when data is loaded.")
            return
        url = _url_values()
        first_run = "_filters_init" not in st.session_state
        if first_run or (url and url != st.session_state.get("_url_written")):
            # a fresh session, or a link/bookmark that carries filters: the URL wins
            state, warnings = state_from_url(url, opts, _scope_words())
            _apply_state(state, opts)
            st.session_state["_url_warnings"] = warnings
            st.session_state["_filters_init"] = True
        _own_team_default(page, spec, opts)
        s = data.status()
        if s and data.is_sample_data([f["name"] for f in s.get("file_list") or []]):
            st.warning("**Sample data**: a synthetic practice, not your caseload. Load your exports on the Data page.",
                       icon=":material/science:")
        st.subheader("Filters", anchor=False)
        lo, hi = to_date(opts["min_date"]), to_date(opts["max_date"])
        st.selectbox("Period", list(PERIODS), key="f_period", format_func=lambda p: PERIODS[p][0],
                     on_change=_clear_warnings,
                     help="Rolling periods end at the latest session loaded; calendar periods are the "
                          "month, quarter or year (\"so far\": the one still running).")
        st.selectbox("Compare with", list(COMPARE), key="f_compare", format_func=lambda c: COMPARE[c],
                     on_change=_clear_warnings,
                     help="The period the headline figures' changes are measured against: the one just before "
                          "(for a calendar period, the same span of the month, quarter or year before), or the "
                          "same dates a year earlier.")
        if st.session_state["f_period"] == "custom":
            rng = st.session_state.get("f_range")
            if not rng:
                st.session_state["f_range"] = (max(lo, hi - dt.timedelta(days=90)), hi)
            else:
                st.session_state["f_range"] = tuple(periods.clamp(d, lo, hi) for d in rng)
            date_boxes.draw(lo, hi, _clear_warnings)
        for key, (wkey, opt_key, label, _f) in MULTI.items():
            options = [str(v) for v in opts.get(opt_key) or []]
            st.session_state[wkey] = [v for v in st.session_state.get(wkey) or [] if v in options]
            if key not in hidden:  # a hidden filter keeps its value (set above) for the other pages
                st.multiselect(label, options, key=wkey, placeholder="All", on_change=_clear_warnings)
        measure_selector(page, _clear_warnings)
        if spec.get("note"):
            st.caption(spec["note"])
        state = {k: ([] if k in hidden else v) for k, v in _current_state().items()}
        d_from, d_to = period_dates(state, opts)
        st.caption(f"{day(d_from)} – {day(d_to)} · data up to {day(hi)}")
        st.button("Reset filters", on_click=_reset, icon=":material/restart_alt:", width="stretch")
        st.caption("The address bar holds these filters: bookmark or share it to come back to this view.")
    url_now = state_to_url(state)
    for key in FILTER_URL_KEYS:
        if key in url_now:
            if st.query_params.get_all(key) != url_now[key]:
                st.query_params[key] = url_now[key]
        elif key in st.query_params:
            del st.query_params[key]
    st.session_state["_url_written"] = url_now
    Filters = data.Filters
    fields = {f: tuple(state[k]) for k, (_w, _o, _l, f) in MULTI.items()}
    st.session_state["filter_state"] = state
    st.session_state["filters"] = Filters(date_from=d_from, date_to=d_to, **fields)
    if d_from and d_to:
        c_from, c_to = periods.comparison_range(state["period"], d_from, d_to, state.get("compare", DEFAULT_COMPARE))
        st.session_state["comparison"] = Filters(date_from=c_from, date_to=c_to, **fields)


def filters():
    """This run's Filters (None when there is no data)."""
    return st.session_state.get("filters")


def link_warnings() -> None:
    """What the page's address asked for but does not get, and why, at the top of the page
    (one warning each; they go when a filter is changed)."""
    for w in st.session_state.get("_url_warnings") or []:
        st.warning(w, icon=":material/link_off:")


def require_data():
    """The Filters, or stop the page with a pointer to the Data page when nothing is loaded;
    first the warnings about the address (``link_warnings``)."""
    link_warnings()
    f = filters()
    if f is None:
        if data.reader() is None:
            st.info("No data is loaded yet. Load practice-management exports on the Data page.",
                    icon=":material/database:")
        else:
            st.info("The warehouse holds no sessions yet. Load exports on the Data page.",
                    icon=":material/database:")
        st.page_link(PAGE_FILES["data"], label="Go to Data", icon=":material/upload_file:")
        st.stop()
    return f


def url_params_for_audit() -> dict[str, list[str]]:
    """The filter parameters of the address, for the audit log: known keys only, at most 20
    values each, each cut to 64 characters (a hand-made address cannot flood the log)."""
    out = {}
    for k in (*FILTER_URL_KEYS, "view"):
        values = st.query_params.get_all(k)
        if values:
            out[k] = [str(v)[:64] for v in values[:20]]
    return out


def url_params(**overrides: Any) -> dict[str, list[str] | str]:
    """This view's filter URL parameters, with some replaced (for links into another page)."""
    state = st.session_state.get("filter_state") or _default_state()
    out: dict[str, Any] = dict(state_to_url(state))
    for k, v in overrides.items():
        if v is None or v == []:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def child_urls(child_ids: Any) -> list[str]:
    """Relative links to each child's page that carry the current filters (read and encoded once)."""
    base = urlencode(url_params(child=None), doseq=True)
    head = f"{CHILD_URL_PATH}?{base}{'&' if base else ''}child="
    return [head + quote_plus(str(c)) for c in child_ids]  # = urlencode({"child": c}) for one id, without its checks


def active_filter_text(f: Any = None) -> str:
    """The period and filters in words (markdown, values escaped); ``f`` (e.g. the practice
    figures' whole months) wins over the sidebar's, and only the filters it keeps are named."""
    state = st.session_state.get("filter_state")
    if not state:
        return ""
    f = f or filters()
    kept = {"team": bool(f and f.teams), "therapist": bool(f and f.therapists),
            "approach": bool(f and f.approaches), "modality": bool(f and f.modalities), "age": bool(f and f.age_groups)}
    parts = [f"{MULTI[k][2].lower()}: {', '.join(md_escape(v) for v in state[k])}" for k in MULTI
             if state.get(k) and kept.get(k, True)]
    period = f"{day(f.date_from)} – {day(f.date_to)}" if f else ""
    return period + ("; " + "; ".join(parts) if parts else "")


def caption_filters(f: Any = None) -> None:
    st.caption(f"Showing {active_filter_text(f)}")
