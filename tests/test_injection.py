"""Markdown injection: values from the address or from the data are shown as text, never as
markdown (issue 11, item 11).

A value from a link (``?child=``, ``?team=`` ...) or from an export (child ids, goal ids,
team and therapist names) that carries markdown -- a link, an image, a code span closing the
one around it, a ``:red[...]`` directive, a bare URL that GitHub-flavoured markdown turns
into a link -- must reach the page as the characters it is made of. Checked

* under Streamlit's AppTest: every element that renders markdown (text, captions, alerts,
  titles, widget labels and help, metrics, page links) holds no link, image, autolink or
  directive that is not escaped, while the hostile words do appear (the value is shown,
  as text);
* in a real browser (the system Chromium): the pages hold no ``<a href="https://evil.example...">``
  and request nothing from ``127.0.0.1:9`` (the images of the payloads).

The warehouse is the tiny handmade practice of ``test_dashboard_support`` with one child,
one goal, one team and one therapist renamed to hostile values.
"""

from __future__ import annotations

import contextlib
import csv
import re
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

import browser_support
import test_dashboard_support as support
from dashboard import ui
from analytics import stored
from pipelines import load

TIMEOUT = 60
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

# the address of issue 11: a code span closed early, a link and a tracking image
URL_PAYLOAD = "x` [Sign in again](https://evil.example/login) ![t](http://127.0.0.1:9/track.png) `"
ISSUE_URL_QUERY = ("child=x%60%20%5BSign%20in%20again%5D(https://evil.example/login)%20!%5Bt%5D"
                   "(http://127.0.0.1:9/track.png)%20%60")
# hostile values in the data
CHILD = "x` [Sign in again](https://evil.example/child) ![c](http://127.0.0.1:9/child.png) `"
GOAL = "G1 [reset your password](https://evil.example/goal) ![g](http://127.0.0.1:9/goal.png)"
TEAM = "North ![n](http://127.0.0.1:9/team.png) [team page](https://evil.example/team) :red[urgent]"
THERAPIST = 'T01 <a href="https://evil.example/ther">call me</a> www.evil.example'
RENAME = {"child_id": {"C0003": CHILD}, "goal_id": {"G0003-1": GOAL}, "team": {"North": TEAM},
          "therapist_id": {"T01": THERAPIST}}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """The tiny practice with child C0003 (flagged: stalled goals, falling engagement), its
    first goal, team North and therapist T01 renamed to hostile values."""
    work = tmp_path_factory.mktemp("injection")
    paths = support.write_tiny_practice(work / "exports")
    for p in paths:
        with open(p, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for r in rows:
            for col, names in RENAME.items():
                r[col] = names.get(r[col], r[col])
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=support.HEADER)
            w.writeheader()
            w.writerows(rows)
    db = work / "hostile.duckdb"
    report = load.load(paths, db=db, after_build=stored.STEPS)
    assert not [f.message for f in report.files if f.status == "failed"]
    return db


@pytest.fixture()
def use_hostile(hostile_db, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(hostile_db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(hostile_db.parent / "audit.sqlite"))
    return hostile_db


# ----------------------------------------------------------------------------- what renders markdown

def _escaped(s: str, i: int) -> bool:
    """True when the character at ``i`` is backslash-escaped (an odd run of backslashes before it)."""
    n = 0
    while i - n - 1 >= 0 and s[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def markup_in(s: str) -> list[str]:
    """The markdown constructs of ``s`` that Streamlit would render as links, images or
    directives: an unescaped ``](`` (inline link or image), a URL or ``www.`` that GFM turns
    into a link, an unescaped ``:name[`` directive."""
    found = [f"link at {m.start()}" for m in re.finditer(r"\]\(", s) if not _escaped(s, m.start())]
    plain = s.replace("\\", "")
    found += [f"autolink {m.group(0)!r}" for m in re.finditer(r"(?i)https?://|www\.", plain)]
    found += [f"directive {m.group(0)!r}" for m in re.finditer(r":[a-z]+\[", s)
              if not _escaped(s, m.start()) and not _escaped(s, m.end() - 1)]
    return found


def markdown_sources(at: AppTest) -> list[str]:
    """The text of every element on the page that Streamlit renders as markdown."""
    out: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "WhichOneof") and type(node).__name__ != "ButtonGroup":
            try:  # a block (expander, tab, popover ...): its label is in the sub-message
                kind = proto.WhichOneof("type")
            except ValueError:
                kind = None
            if kind:
                proto = getattr(proto, kind)
        if proto is not None:
            for field in ("body", "label", "help", "delta", "caption", "placeholder"):
                v = getattr(proto, field, None)
                if isinstance(v, str) and v:
                    out.append(v)
        if type(node).__name__ == "ButtonGroup":  # pills and segmented controls: markdown options
            out.extend(str(o) for o in node.options)
        if type(node).__name__ == "Radio":
            out.extend(str(o) for o in node.proto.options)
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            walk(child)

    walk(at._tree)
    return out


def assert_text_only(at: AppTest, must_show: list[str]) -> None:
    assert not at.exception, at.exception[0].value
    sources = markdown_sources(at)
    bad = {s: markup_in(s) for s in sources if markup_in(s)}
    assert not bad, f"rendered as markdown: {bad}"
    shown = " ".join(s.replace("\\", "") for s in sources)
    for words in must_show:
        assert words in shown, f"{words!r} is not on the page at all: {sources}"


def open_page(page: str, query: dict | None = None) -> AppTest:
    """The page after a first run at ``query``; its own run's exceptions are the tests' to judge."""
    return support.open_page(page, query, TIMEOUT, check=False)


# ----------------------------------------------------------------------------- the escaping helper

@pytest.mark.parametrize("value", [URL_PAYLOAD, CHILD, GOAL, TEAM, THERAPIST, "a\n# heading\n\n- item",
                                   "**bold** _it_ ~~s~~ $x^2$ | a | b |", ":material/home: :blue-background[x]",
                                   "mail x@evil.example", "<https://evil.example/angle>", "back\\slash ]("])
def test_md_escape_leaves_no_markup(value):
    out = ui.md_escape(value)
    assert not markup_in(out), out
    assert "\n" not in out
    # every character with a meaning inside a line is escaped, so nothing is left to parse
    specials = set("`*_{}[]()#!|<>~$:&")
    for i, ch in enumerate(out):
        if ch in specials:
            assert _escaped(out, i), (out, i)
    # and it reads as the value: remove the escapes and the word joiners, get the value back
    assert re.sub(r"\\(.)", r"\1", out).replace(ui.WORD_JOINER, "") == re.sub(r"[\x00-\x1f]+", " ", value)


@pytest.mark.parametrize("value, expected", [("- item", "\\- item"), ("+ item", "\\+ item"),
                                             ("12. item", "12\\. item"), ("= x", "\\= x"),
                                             ("2026-13-45", "2026-13-45"), ("C0042", "C0042")])
def test_md_escape_leaves_no_block_at_the_start(value, expected):
    assert ui.md_escape(value) == expected


def test_md_code_is_one_code_span():
    for value in ("plain@example.org", "a`b", "``x``", "`lead"):
        out = ui.md_code(value)
        fence = re.match(r"`+", out).group(0)
        assert out.endswith(fence) and fence not in out[len(fence):-len(fence)]


# ----------------------------------------------------------------------------- AppTest: the address

def test_the_issues_link_shows_its_payload_as_text(use_hostile):
    at = open_page("child_progress", {"child": URL_PAYLOAD, "period": "all"})
    assert_text_only(at, ["Sign in again", "from the link is not among the children you can see"])


@pytest.mark.parametrize("key", ["team", "modality", "therapist", "age", "approach", "from", "period"])
def test_filter_values_from_the_address_are_text(use_hostile, key):
    at = open_page("overview", {key: URL_PAYLOAD})
    assert_text_only(at, ["Sign in again", "Ignored from the link"])


# ----------------------------------------------------------------------------- AppTest: the data

def test_hostile_child_and_goal_ids_are_text_on_the_child_page(use_hostile):
    at = open_page("child_progress", {"child": CHILD, "period": "all"})
    assert at.selectbox(key="child_pick").value == CHILD
    # the child id in captions and the comparison text, the goal id in the stalled-goal flag
    assert_text_only(at, ["Sign in again", "reset your password"])


def test_hostile_team_name_is_text_on_the_meeting_page(use_hostile):
    at = open_page("team_meeting", {"team": TEAM, "period": "all"})
    assert at.multiselect(key="f_team").value == [TEAM]
    assert_text_only(at, ["team page", "urgent"])


@pytest.mark.parametrize("page", ["overview", "groups", "approach", "needs_attention"])
def test_hostile_values_in_filters_and_pages_are_text(use_hostile, page):
    at = open_page(page, {"team": TEAM, "period": "all"})
    assert_text_only(at, ["team page"])  # the sidebar's "Showing ...; team: ..." names the team


def test_hostile_therapist_in_the_access_warnings_is_text(use_hostile):
    at = open_page("needs_attention", {"therapist": THERAPIST, "period": "all"})
    assert_text_only(at, ["call me"])


# ----------------------------------------------------------------------------- a real browser

@contextlib.contextmanager
def _server(db: Path, work: Path):
    env = {"PIPELINES_DB": str(db), "PIPELINES_AUDIT": str(work / "browser_audit.sqlite")}
    with browser_support.streamlit_server(env, work / "streamlit.log") as base:
        yield base


def test_in_a_browser_no_injected_link_or_image(hostile_db, tmp_path):
    sync_api = browser_support.sync_api()
    pages = [
        ("child_progress?" + ISSUE_URL_QUERY, "Sign in again"),  # the address of the issue, as typed
        ("child_progress?" + urlencode({"child": CHILD, "period": "all"}), "reset your password"),
        ("team_meeting?" + urlencode({"team": TEAM}), "team page"),
        ("approach?" + urlencode({"period": "all"}), None),  # therapist ids label the forest plot
        ("groups?" + urlencode({"period": "all", "therapist": THERAPIST}), "call me"),
        ("?" + urlencode({"team": URL_PAYLOAD}, quote_via=quote), "Sign in again"),
    ]
    with _server(hostile_db, tmp_path) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(browser_support.CHROMIUM), args=browser_support.ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            for path, words in pages:
                page.goto(f"{base}/{path}")
                page.wait_for_selector(IDLE, timeout=60_000)
                page.wait_for_timeout(1500)  # images and charts fetch and draw after the script ends
                page.wait_for_selector(IDLE, timeout=60_000)
                assert not page.query_selector_all("[data-testid='stException']"), path
                hrefs = page.eval_on_selector_all(
                    "a", "els => els.map(e => e.getAttribute('href') || e.getAttribute('xlink:href') || '')")
                evil = [h for h in hrefs if "evil.example" in h]
                assert not evil, f"{path}: links {evil}"
                imgs = page.eval_on_selector_all("img", "els => els.map(e => e.getAttribute('src') || '')")
                assert not [s for s in imgs if "127.0.0.1:9" in s], path
                if words:
                    assert words in page.inner_text("body"), f"{path}: {words!r} not shown"
            fetched = [u for u in requests if urlsplit(u).netloc in ("127.0.0.1:9", "evil.example")]
            assert not fetched, fetched
        finally:
            browser.close()
