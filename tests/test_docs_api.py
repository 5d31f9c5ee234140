"""The documentation says what the code offers: the API tables of ``docs/analytics_api.md``
list exactly the public functions of ``analytics.__all__`` with their parameters, the
``Filters`` block names its fields, and the README's ``python -m pipelines ...`` lines name
every subcommand of ``pipelines.cli.build_parser()`` and parse with it.

Each table row's first cell is read as a Python call (``ast``): ``kpis(con, f, previous=None)
-> dict`` documents ``kpis`` with the parameters ``con, f, previous``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import re
import shlex
from pathlib import Path

import pytest

import analytics
from pipelines import cli

ROOT = Path(__file__).resolve().parent.parent
API_DOC = ROOT / "docs" / "analytics_api.md"
README = ROOT / "README.md"


# ---------------------------------------------------------------------------------------------- parsing


def documented_calls(markdown: str) -> list[tuple[str, list[str], str]]:
    """(function, parameter names, cell) for every row of a ``| function | ... |`` table whose
    first cell is a code span."""
    out, in_table = [], False
    for line in markdown.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and cells[0] == "function":
            in_table = True
            continue
        if not in_table or set(cells[0]) <= set("-: "):
            continue
        m = re.fullmatch(r"`([^`]+)`", cells[0])
        assert m, f"{API_DOC.name}: the first cell of a function table is one code span: {cells[0]!r}"
        out.append((*parse_call(m.group(1)), cells[0]))
    return out


def parse_call(text: str) -> tuple[str, list[str]]:
    """``name(a, b, c=1) -> T`` (with ``\\|`` for ``|``) -> ("name", ["a", "b", "c"])."""
    code = text.replace("\\|", "|").split(" -> ")[0].strip()
    node = ast.parse(code, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), f"not a call: {text!r}"
    params = []
    for a in node.args:
        assert isinstance(a, ast.Name), f"{text!r}: a positional parameter is a bare name"
        params.append(a.id)
    params += [k.arg for k in node.keywords]
    return node.func.id, params


def public_functions() -> dict[str, inspect.Signature]:
    return {n: inspect.signature(getattr(analytics, n)) for n in analytics.__all__
            if inspect.isfunction(getattr(analytics, n))}


def readme_cli_lines(markdown: str) -> list[list[str]]:
    """The arguments after ``-m pipelines`` of every README code line that runs the CLI
    (comments and output redirections left out)."""
    out, in_code = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code or " -m pipelines " not in line:
            continue
        words = shlex.split(line, comments=True)
        words = words[:next((i for i, w in enumerate(words) if w in (">", ">>", "|", "2>")), len(words))]
        out.append(words[words.index("pipelines") + 1:])
    return out


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


# ---------------------------------------------------------------------------------------------- the parsers


def test_a_table_row_is_read_as_a_call():
    doc = ("| function | returns |\n|---|---|\n| `kpis(con, f, previous=None) -> dict` | figures |\n"
           "| `child_periods(con, f, period=\"week\"\\|\"month\", child_id=None)` | rows |\n\n"
           "| other | table |\n|---|---|\n| `not_a_function(x)` | left out |\n")
    assert [c[:2] for c in documented_calls(doc)] == [("kpis", ["con", "f", "previous"]),
                                                      ("child_periods", ["con", "f", "period", "child_id"])]


def test_a_readme_line_is_read_as_cli_arguments():
    doc = "text\n```bash\n.venv/bin/python -m pipelines rejects --db x.duckdb > r.csv   # every row\n```\n" \
          "outside: python -m pipelines nope\n"
    assert readme_cli_lines(doc) == [["rejects", "--db", "x.duckdb"]]


# ---------------------------------------------------------------------------------------------- the docs


def test_the_api_tables_list_exactly_the_public_functions():
    documented = [name for name, _, _ in documented_calls(API_DOC.read_text(encoding="utf-8"))]
    public = public_functions()
    twice = sorted({n for n in documented if documented.count(n) > 1})
    assert not twice, f"listed more than once in {API_DOC.name}: {twice}"
    missing = sorted(set(public) - set(documented))
    extra = sorted(set(documented) - set(public))
    assert not missing, f"in analytics.__all__ but not in {API_DOC.name}: {missing}"
    assert not extra, f"in {API_DOC.name} but not a function of analytics.__all__: {extra}"


def test_each_documented_signature_names_the_functions_parameters():
    public = public_functions()
    wrong = [f"{cell}: the function takes ({', '.join(public[name].parameters)})"
             for name, params, cell in documented_calls(API_DOC.read_text(encoding="utf-8"))
             if name in public and params != list(public[name].parameters)]
    assert not wrong, "\n".join(wrong)


def test_the_filters_block_names_every_field():
    text = API_DOC.read_text(encoding="utf-8")
    block = text.split("class Filters:", 1)[1].split("```", 1)[0]
    documented = re.findall(r"^\s+(\w+):", block, flags=re.M)
    assert documented == [f.name for f in dataclasses.fields(analytics.Filters)]


def test_the_readme_names_every_cli_subcommand():
    lines = readme_cli_lines(README.read_text(encoding="utf-8"))
    listed = {words[0] for words in lines if words}
    assert listed == set(subcommands(cli.build_parser())), \
        f"README lists {sorted(listed)}; python -m pipelines has {sorted(subcommands(cli.build_parser()))}"


@pytest.mark.parametrize("words", readme_cli_lines(README.read_text(encoding="utf-8")), ids=" ".join)
def test_each_readme_cli_line_parses(words, capsys):
    try:
        args = cli.build_parser().parse_args(words)
    except SystemExit:
        pytest.fail(f"`python -m pipelines {' '.join(words)}` (README) does not parse: {capsys.readouterr().err}")
    assert args.command == words[0]
