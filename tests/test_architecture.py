"""The layers of docs/architecture.md, checked on the source: imports only go down.

The import graph of our packages is read with ``ast`` (every ``import`` and ``from ... import``,
at module level and inside functions alike: a late import is still an arrow). A module may
import its own layer and the layers below it; the one exception is the entry point
(``ENTRY_POINTS``, with its reason), which nothing else may import. No two packages may import
each other in a circle, benchmarks and packages import nothing from ``tests/``, and no module
is longer than ``MAX_LINES`` lines unless the first lines of its docstring say why. The checks
run on a small planted tree first, to show they fail when they should.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# lowest first; a package may import its own layer and every layer before it
LAYERS: tuple[tuple[str, ...], ...] = (
    ("stats",),       # statistical methods: numpy / scipy only
    ("pipelines", "spark_engine"),  # ingest, load, warehouse, SQL models, settings, sample; the same models on Spark
    ("analytics",),   # the questions the pages ask
    ("access",),      # scope, practice view, disclosure, access list, audit, uploads
    ("reports",),     # meeting pack, PDF, theme, formats, spreadsheet-safe cells
    ("dashboard",),   # the Streamlit app
)
ENTRY_POINTS: dict[str, str] = {
    "pipelines.cli": "the command line `python -m pipelines ...` (users script it; every subcommand and flag "
                     "kept where it always was): it runs loads with the analytics layer's stored tables, writes "
                     "the meeting pack and records audit events, so it sits above every layer; nothing imports it",
    "pipelines.__main__": "runs pipelines.cli for `python -m pipelines`",
    "spark_engine.cli": "the `load --engine spark` and `serve-from` commands of `python -m pipelines`, run by "
                        "pipelines.cli: like it, it hands the analytics layer's stored statistics down to the "
                        "Spark build and records audit events; only pipelines.cli imports it",
}
MAX_LINES = 500
REASON = "Longer than 500 lines because"
REASON_WITHIN = 8  # the reason must be in the docstring's first lines


@dataclass(frozen=True)
class Arrow:
    source: str         # the importing module
    targets: tuple      # the modules it may mean (``from a import b``: a and a.b)
    line: int
    in_function: bool


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def arrows(root: Path, path: Path) -> list[Arrow]:
    """Every import in the file, module level and function level."""
    source = module_name(root, path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    package = source.split(".") if path.name == "__init__.py" else source.split(".")[:-1]
    out: list[Arrow] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):  # one arrow per module named
            out += [Arrow(source, (a.name,), node.lineno, id(node) in in_function) for a in node.names]
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1
                up = package[:len(package) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            targets = (base, *(f"{base}.{a.name}" for a in node.names))
        else:
            continue
        out.append(Arrow(source, targets, node.lineno, id(node) in in_function))
    return out


def package_files(root: Path, packages: list[str]) -> list[Path]:
    return sorted(p for pkg in packages for p in (root / pkg).rglob("*.py") if "__pycache__" not in p.parts)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The circles in a graph of packages (each found once, from its smallest name)."""
    found: list[list[str]] = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(edges.get(path[-1], ())):
            if nxt == path[0]:
                found.append(path + [nxt])
            elif nxt not in path and nxt > path[0]:
                walk(path + [nxt])

    for start in sorted(edges):
        walk([start])
    return found


def check_layers(root: Path, layers=LAYERS, entry_points=ENTRY_POINTS) -> list[str]:
    """Problems: an import of a higher layer, an import of an entry point, a circle between packages."""
    layer_of = {pkg: i for i, group in enumerate(layers) for pkg in group}
    problems: list[str] = []
    edges: dict[str, set[str]] = {}
    for path in package_files(root, list(layer_of)):
        for a in arrows(root, path):
            where = f"{path.relative_to(root)}:{a.line}" + (" (inside a function)" if a.in_function else "")
            named = [t for t in a.targets if t in entry_points]
            if named and a.source not in entry_points:
                problems.append(f"{where}: {a.source} imports the entry point {named[0]}")
            src_pkg, dst_pkg = a.source.split(".")[0], a.targets[0].split(".")[0]
            if dst_pkg not in layer_of or a.source in entry_points:
                continue
            if layer_of[dst_pkg] > layer_of[src_pkg]:
                problems.append(f"{where}: {a.source} (layer {layer_of[src_pkg]}, {src_pkg}) imports "
                                f"{a.targets[-1] if len(a.targets) > 1 else a.targets[0]} (layer {layer_of[dst_pkg]}, "
                                f"{dst_pkg}): imports only go down")
            if dst_pkg != src_pkg:
                edges.setdefault(src_pkg, set()).add(dst_pkg)
    problems += [f"packages import each other in a circle: {' -> '.join(c)}" for c in cycles(edges)]
    return problems


def check_test_imports(root: Path, tests: Path, places: list[Path]) -> list[str]:
    """Problems: a module of ``places`` (benchmarks, packages) importing a module of ``tests``."""
    test_modules = {p.stem for p in tests.glob("*.py")}
    problems = []
    for path in places:
        for a in arrows(root, path):
            hit = [t for t in a.targets if t.split(".")[0] in test_modules]
            if hit:
                problems.append(f"{path.relative_to(root)}:{a.line}: imports {hit[0]} from tests/ "
                                "(put what both need in the package)")
    return problems


def check_sizes(root: Path, packages: list[str], max_lines: int = MAX_LINES) -> list[str]:
    """Problems: a module over ``max_lines`` lines whose docstring does not start with why."""
    problems = []
    for path in package_files(root, packages):
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n <= max_lines:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if REASON not in " ".join(doc.splitlines()[:REASON_WITHIN]):
            problems.append(f"{path.relative_to(root)}: {n} lines; split it, or say at the top of its docstring "
                            f"\"{REASON} ...\"")
    return problems


def ours() -> list[str]:
    return [pkg for group in LAYERS for pkg in group]


# ----------------------------------------------------------------------------- the checks can fail


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


CLEAN = {"low/__init__.py": "", "low/a.py": "import json\n", "high/__init__.py": "",
         "high/b.py": "from low import a\nfrom . import c\n", "high/c.py": "import low.a\n"}


def test_a_clean_tree_passes(tmp_path):
    assert check_layers(_tree(tmp_path, CLEAN), (("low",), ("high",)), {}) == []


def test_a_planted_upward_import_inside_a_function_is_caught(tmp_path):
    root = _tree(tmp_path, {**CLEAN, "low/a.py": "import json\n\n\ndef f():\n    from high import b\n    return b\n"})
    problems = check_layers(root, (("low",), ("high",)), {})
    assert len(problems) == 2, problems  # the upward arrow, and the circle it closes
    assert "low/a.py:5 (inside a function): low.a (layer 0, low) imports high.b (layer 1, high)" in problems[0]
    assert problems[1] == "packages import each other in a circle: high -> low -> high"


def test_a_planted_upward_import_at_module_level_and_relative_is_caught(tmp_path):
    root = _tree(tmp_path, {**CLEAN, "low/a.py": "import high.c\n", "high/c.py": "from .b import a\n"})
    problems = check_layers(root, (("low",), ("high",)), {})
    assert any(p.startswith("low/a.py:1: low.a (layer 0, low) imports high.c") for p in problems), problems
    assert not any("high/c.py" in p for p in problems)  # a relative import within its own package is fine


def test_a_circle_within_one_layer_is_caught(tmp_path):
    root = _tree(tmp_path, {"low/__init__.py": "", "mid_a/__init__.py": "from mid_b import x\n",
                            "mid_b/__init__.py": "", "mid_b/x.py": "import mid_a\n"})
    assert check_layers(root, (("low",), ("mid_a", "mid_b")), {}) == [
        "packages import each other in a circle: mid_a -> mid_b -> mid_a"]


def test_the_entry_point_may_import_upwards_and_nothing_may_import_it(tmp_path):
    root = _tree(tmp_path, {**CLEAN, "low/cli.py": "def main():\n    import high.b\n",
                            "high/c.py": "from low import cli\n"})
    problems = check_layers(root, (("low",), ("high",)), {"low.cli": "the command line"})
    assert problems == ["high/c.py:1: high.c imports the entry point low.cli"]


def test_a_planted_long_module_without_a_reason_is_caught(tmp_path):
    body = "x = 1\n" * 501
    root = _tree(tmp_path, {"low/__init__.py": "", "low/long.py": '"""A module."""\n' + body,
                            "low/why.py": f'"""A module.\n\n{REASON} it is one table of data.\n"""\n' + body})
    assert check_sizes(root, ["low"]) == [f"low/long.py: 502 lines; split it, or say at the top of its docstring "
                                          f"\"{REASON} ...\""]


def test_a_planted_import_of_a_test_helper_is_caught(tmp_path):
    root = _tree(tmp_path, {"tests/helper.py": "", "benchmarks/bench.py": "import helper\n",
                            "low/__init__.py": "from helper import x\n"})
    places = [root / "benchmarks" / "bench.py", root / "low" / "__init__.py"]
    assert len(check_test_imports(root, root / "tests", places)) == 2


# ----------------------------------------------------------------------------- the project


def test_every_package_of_ours_has_a_layer():
    found = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert found == set(ours()), f"packages without a layer: {sorted(found - set(ours()))}"


def test_imports_only_go_down_and_no_packages_import_each_other_in_a_circle():
    problems = check_layers(ROOT)
    assert not problems, "\n".join(problems)


def test_the_graph_holds_the_arrows_the_design_draws():
    """The check reads the real graph: the pages reach analytics through dashboard.data, access
    reads analytics, analytics reads the pipeline and stats (a check over an empty graph would pass too)."""
    seen = {(a.source.split(".")[0], a.targets[0].split(".")[0])
            for p in package_files(ROOT, ours()) for a in arrows(ROOT, p)}
    for arrow in [("dashboard", "analytics"), ("dashboard", "access"), ("dashboard", "reports"), ("reports", "analytics"),
                  ("access", "analytics"), ("access", "pipelines"), ("analytics", "pipelines"), ("analytics", "stats")]:
        assert arrow in seen, arrow
    assert ("pipelines", "analytics") in {(a.source.split(".")[0], a.targets[0].split(".")[0])
                                          for a in arrows(ROOT, ROOT / "pipelines" / "cli.py")}  # the exception


def test_benchmarks_and_packages_import_nothing_from_tests():
    places = sorted((ROOT / "benchmarks").glob("*.py")) + package_files(ROOT, ours())
    problems = check_test_imports(ROOT, ROOT / "tests", places)
    assert not problems, "\n".join(problems)


def test_no_module_is_over_500_lines_without_saying_why():
    problems = check_sizes(ROOT, ours())
    assert not problems, "\n".join(problems)
