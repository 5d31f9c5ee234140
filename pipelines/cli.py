"""Command line: ``python -m pipelines load|status|rebuild|unload|sample|effects|child-report ...`` (users script it).

The entry point above every layer (see docs/architecture.md): it runs loads with the
statistics of the analytics layer (``analytics.stored.STEPS``), writes the meeting pack
(``reports``) and records audit events (``access.audit``), so it may import any package.

Commands that change or export data (load, rebuild, unload, rejects, meeting-pack, child-report) record their
audit event first; when the log cannot be written they change and print nothing, say so
in one ``error:`` line and exit 1. Failures are one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipelines import errors, warehouse


def _err(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)


class AuditUnavailable(Exception):
    """The audit log could not be written: the command must not go on."""


def _audit(db: str | Path | None, action: str, page: str, detail: dict, child_id: str | None = None) -> None:
    """Record a command-line load or export in the audit log beside the warehouse, before it
    happens (the actor is ``cli:<operating-system user>``: whoever can run this can read the
    files). Raises ``AuditUnavailable`` naming the log when it cannot be written."""
    import getpass

    from access import audit

    path = audit.audit_path(Path(db or warehouse.default_db_path()))
    try:
        audit.record(action, f"cli:{getpass.getuser()}", page=page, child_id=child_id, detail=detail, path=path)
    except Exception as exc:  # noqa: BLE001 - any failure to write the log stops the command
        raise AuditUnavailable(f"the audit log {path} cannot be written ({type(exc).__name__}: {exc})") from exc


def _export_date(text: str):
    from pipelines.dates import parse_export_date

    try:
        return parse_export_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def cmd_load(args: argparse.Namespace) -> int:
    from analytics import stored
    from pipelines.load import LoadAborted, expand, load
    from pipelines.profiles import ProfileError, load as load_profile

    try:
        if args.profile:
            load_profile(args.profile)  # a wrong profile name changes nothing and needs no audit event
    except ProfileError as exc:
        _err(str(exc))
        return 2
    files = expand(args.paths)
    if not files:
        _err("no export files found in " + ", ".join(map(str, args.paths)))
        return 2
    if args.engine == "spark":
        from spark_engine import cli as spark_cli

        return spark_cli.load(args, files, _audit, AuditUnavailable, _err)
    db = Path(args.db or warehouse.default_db_path())
    detail = {"files": [f.name for f in files]}
    if args.export_date:
        detail["export_date"] = args.export_date.isoformat()
    try:
        _audit(db, "upload", "cli load", detail)  # before anything changes
    except AuditUnavailable as exc:
        _err(f"{exc}; nothing was loaded")
        return 1
    try:
        report = load(files, db=db, profile=args.profile, sheet=args.sheet, export_date=args.export_date,
                      echo=None if args.quiet else (lambda s: print(s, file=sys.stderr)), after_build=stored.STEPS)
    except ProfileError as exc:
        _err(str(exc))
        return 2
    except LoadAborted as exc:
        _err(str(exc))
        return 1
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    rejected = 0
    for f in report.files:
        mark = {"loaded": "loaded ", "skipped": "skipped", "failed": "FAILED "}[f.status]
        print(f"{mark} {f.message if f.status == 'failed' else Path(f.path).name + ': ' + f.message}")
        rejected += f.rows_rejected
    if rejected:
        print(f"{rejected} rejected rows kept with file, line, column and reason: "
              f"'python -m pipelines rejects --db {report.db}' or the dashboard's Data page")
    for f in report.failed:
        _err(f.message)
    return 1 if report.failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.status import status

    try:
        s = status(args.db)
    except FileNotFoundError as exc:
        _err(str(exc))
        return 1
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"warehouse     {s['db']}" + (" (made by an earlier version: the next load or 'rebuild' brings it "
                                         "up to date)" if s.get("outdated") else ""))
    print(f"files loaded  {s['files']} (last load {s['last_load']})")
    print(f"sessions      {s['sessions']} ({s['first_session']} to {s['last_session']})")
    print(f"children      {s['children']}")
    print(f"goal ratings  {s['goal_ratings']}")
    print(f"rejects       {s['rejected_rows']} rows ({s['reject_reasons']} reasons)")
    print(f"not linked    {s.get('unlinked_rows', 0)} rows (loaded, but no appointment or child to join them to: "
          "see 'rejects')")
    for f in s["file_list"]:
        order = (f["export_order"] or "")[:16].replace("T", " ")
        print(f"  {f['name']}: {f['rows_loaded']} loaded, {f['rows_rejected']} rejected "
              f"({f['profile']}, loaded {f['loaded_at']}; export of {order}, {f['order_from']})")
    return 0


def cmd_rejects(args: argparse.Namespace) -> int:
    import csv

    from reports.cells import safe_cell

    try:
        con = warehouse.connect_reader(Path(args.db or warehouse.default_db_path()))
    except FileNotFoundError as exc:
        _err(str(exc))
        return 1
    try:
        rows = con.execute(
            "select file_name, line, column_name, value, reason from rejects order by file_id, line limit $n",
            {"n": args.limit}).fetchall()
        has_unlinked = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                                   "and table_name = 'unlinked_rows'").fetchall()[0][0]
        if has_unlinked:  # rows kept but not joined, labelled "not linked" in the column column
            rows += con.execute("select file, line, 'not linked', source, reason from unlinked_rows "
                                "order by file_id, line limit $n", {"n": args.limit}).fetchall()
    finally:
        con.close()
    try:
        _audit(args.db, "export", "cli rejects", {"what": "rejected rows (CSV)", "rows": len(rows)})  # before output
    except AuditUnavailable as exc:
        _err(f"{exc}; nothing was exported")
        return 1
    w = csv.writer(sys.stdout)
    w.writerow(["file", "line", "column", "value", "reason"])
    for r in rows:
        w.writerow([safe_cell(v) for v in r])
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    from analytics import stored
    from pipelines.load import LoadAborted, rebuild

    try:
        _audit(args.db, "upload", "cli rebuild", {"what": "rebuild from the landing archive"})  # before it runs
    except AuditUnavailable as exc:
        _err(f"{exc}; nothing was rebuilt")
        return 1
    try:
        report = rebuild(args.db, echo=lambda s: print(s, file=sys.stderr) if not args.quiet else None,
                         after_build=stored.STEPS)
    except (FileNotFoundError, LoadAborted) as exc:
        _err(str(exc))
        return 1
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    loaded = sum(f.status == "loaded" for f in report.files)
    print(f"rebuilt {report.db} from {loaded} archived files")
    for f in report.failed:
        _err(f.message)
    return 1 if report.failed else 0


def cmd_unload(args: argparse.Namespace) -> int:
    from analytics import stored
    from pipelines.load import LoadAborted
    from pipelines.unload import UnloadError, find_loaded, unload

    db = Path(args.db or warehouse.default_db_path())
    try:
        f = find_loaded(args.file, db)  # a name that matches nothing changes nothing and needs no audit event
    except FileNotFoundError:
        _err(f"no warehouse at {db}: nothing to unload")
        return 1
    except UnloadError as exc:
        _err(str(exc))
        return 2
    try:
        _audit(db, "unload", "cli unload", {"file": f["name"], "sha256": f["sha256"]})  # before anything changes
    except AuditUnavailable as exc:
        _err(f"{exc}; nothing was unloaded")
        return 1
    try:
        report = unload(f["sha256"], db, echo=None if args.quiet else (lambda s: print(s, file=sys.stderr)),
                        after_build=stored.STEPS)
    except (FileNotFoundError, LoadAborted) as exc:
        _err(str(exc))
        return 1
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"unloaded {f['name']} (sha256 {f['sha256'][:12]}): its rows are gone and the other "
          f"{len(report.files)} files were replayed; load the file again to bring it back")
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from pipelines import sample

    argv = ["--children", str(args.children), "--months", str(args.months), "--seed", str(args.seed),
            "--out", args.out, "--format", args.format]
    if args.end:
        argv += ["--end", args.end]
    if args.single_file:
        argv.append("--single-file")
    return sample.main(argv)


def cmd_effects(args: argparse.Namespace) -> int:
    """Per child per session-level measure: child-led (B) vs directed (A) single-case effects,
    oriented so that positive (NAP above 0.5) means child-led better in the measure's direction."""
    import math

    from analytics.approach import EFFECT_COLUMNS, effects
    from pipelines.measures import catalogue

    if args.measure is not None:
        m = catalogue().get(args.measure)
        if m is None:
            _err(f"measure {args.measure!r} is not in the catalogue (measures.toml)")
            return 2
        if m.level != "session":
            _err(f"measure {args.measure!r} is a {m.level}-level measure: effects compare sessions "
                 "(a session-level measure of measures.toml)")
            return 2
    db = Path(args.db or warehouse.default_db_path())
    if db.exists() and warehouse.outdated(db):
        _err(f"the warehouse {db} was made by an earlier version: run 'python -m pipelines rebuild --db {db}' first")
        return 1
    try:
        con = warehouse.connect_reader(db)
    except FileNotFoundError as exc:
        _err(str(exc))
        return 1
    try:
        df = effects(con, args.measure)
    finally:
        con.close()
    try:
        _audit(args.db, "export", "cli effects", {"what": "single-case effects per child (child-led vs directed)",
                                                  "measure": args.measure, "rows": len(df)})  # before output
    except AuditUnavailable as exc:
        _err(f"{exc}; nothing was exported")
        return 1

    def plain(v):
        if hasattr(v, "item"):
            v = v.item()
        return None if isinstance(v, float) and math.isnan(v) else v

    rows = [{c: plain(r[c]) for c in EFFECT_COLUMNS} for r in df.to_dict("records")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("\t".join(EFFECT_COLUMNS))
    for r in rows:
        print("\t".join("" if r[c] is None else (f"{r[c]:.4f}" if isinstance(r[c], float) else str(r[c]))
                        for c in EFFECT_COLUMNS))
    return 0


def cmd_serve_from(args: argparse.Namespace) -> int:
    from spark_engine import cli as spark_cli

    return spark_cli.serve_from(args, _err)


def cmd_meeting_pack(args: argparse.Namespace) -> int:
    from reports import meeting_pack as mp

    db = Path(args.db or warehouse.default_db_path())
    try:
        con = warehouse.connect_reader(db)
    except FileNotFoundError as exc:
        _err(str(exc))
        return 1
    try:
        pack = mp.build_pack(con, team=args.team, therapist=args.therapist, date_from=args.date_from,
                             date_to=args.date_to, suppress_small_cells=args.suppress_small_cells)
    except mp.PackError as exc:
        _err(str(exc))
        return 2
    finally:
        con.close()
    out = Path(args.out)
    try:
        _audit(db, "export", "cli meeting-pack", {  # before any file is written
            "what": "meeting pack", "team": pack.team, "therapist": pack.therapist, "from": str(pack.date_from),
            "to": str(pack.date_to), "suppressed": pack.suppress_small_cells, "out": str(out)})
    except AuditUnavailable as exc:
        _err(f"{exc}; no pack was written")
        return 1
    try:
        written = mp.write_all(pack, out, pdf=True)
    except (OSError, RuntimeError) as exc:  # a folder that cannot be written, Chromium failing to print
        _err(f"meeting pack not completed: {exc}")
        return 1
    for key in ("html", "pdf", "xlsx"):
        v = written.get(key)
        if isinstance(v, Path):
            print(f"wrote {v}")
        elif v:
            print(f"pack.pdf not written: {v}", file=sys.stderr)
    return 0


def cmd_child_report(args: argparse.Namespace) -> int:
    """One child's progress report (issue 15) as the local operator, who sees every child (as
    ``meeting-pack``); a typed ``--name`` or narrative goes into the files only: the audit event
    says whether one was given, never what."""
    from reports import child_report as cr

    try:
        formats = cr.parse_formats(args.format)
        narrative = Path(args.narrative).read_text(encoding="utf-8") if args.narrative else None
        plan = Path(args.plan).read_text(encoding="utf-8") if args.plan else None
    except cr.ReportError as exc:
        _err(str(exc))
        return 2
    db = Path(args.db or warehouse.default_db_path())
    try:
        con = warehouse.connect_reader(db)
    except FileNotFoundError as exc:
        _err(str(exc))
        return 1
    try:
        report = cr.build_report(con, args.child, args.date_from, args.date_to)
    except cr.ReportError as exc:
        _err(str(exc))
        return 2
    finally:
        con.close()
    out = Path(args.out)
    try:
        _audit(db, "export", "cli child-report", {  # before any file is written; never the typed name
            "what": "child progress report" + (" (family version)" if args.parent else ""),
            "from": str(report.date_from or ""), "to": str(report.date_to or ""), "formats": list(formats),
            "display_name_typed": bool((args.name or "").strip()), "narrative_typed": bool(narrative or plan),
            "out": str(out)}, child_id=report.child_id)
    except AuditUnavailable as exc:
        _err(f"{exc}; no report was written")
        return 1
    try:
        written = cr.write_files(report, out, formats, parent=args.parent, display_name=args.name,
                                 narrative=narrative, plan=plan)
    except (OSError, RuntimeError) as exc:
        _err(f"child report not completed: {exc}")
        return 1
    for fmt in formats:
        v = written.get(fmt)
        if isinstance(v, Path):
            print(f"wrote {v}")
        elif v:
            print(f"{fmt} not written: {v}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipelines", description="Load and inspect therapy session exports.")
    sub = p.add_subparsers(dest="command", required=True)
    db_help = f"warehouse file (default {warehouse.default_db_path()}, or $PIPELINES_DB)"

    s = sub.add_parser("load", help="load export files or folders of them")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--profile", help="mapping profile name (profiles/NAME.toml) or path; default: best fit")
    s.add_argument("--sheet", help="Excel sheet to read (default: the profile's, else the first)")
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.add_argument("--export-date", type=_export_date, metavar="YYYY-MM-DD[THH:MM]",
                   help="when these files were exported (all files of this call): rows of a newer export win; "
                        "default: a date in the file name (YYYY-MM-DD, YYYYMMDD, YYYY-MM), else the file's time")
    s.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="duckdb: load into the warehouse (--db); spark: build every model from these files on "
                        "Spark and write Parquet marts to --out (needs requirements-spark.txt and Java)")
    s.add_argument("--out", metavar="MARTS_DIR", help="with --engine spark: the folder of the Parquet marts")
    s.add_argument("--master", metavar="URL", help="with --engine spark: the Spark master (default local[2])")
    s.set_defaults(func=cmd_load)

    s = sub.add_parser("status", help="what the warehouse holds")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("rejects", help="rejected rows as CSV (file, line, column, value, reason)")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--limit", type=int, default=1_000_000)
    s.set_defaults(func=cmd_rejects)

    s = sub.add_parser("rebuild", help="rebuild the warehouse from the landing archive")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.set_defaults(func=cmd_rebuild)

    s = sub.add_parser("unload", help="remove one loaded file's rows (the other files are replayed from the archive)")
    s.add_argument("file", metavar="FILE_OR_SHA",
                   help="the file's name as loaded, its path (matched by content), or its sha256 (a prefix will do)")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--quiet", action="store_true", help="no progress lines")
    s.set_defaults(func=cmd_unload)

    s = sub.add_parser("sample", help="generate a synthetic practice")
    s.add_argument("--children", type=int, default=150)
    s.add_argument("--months", type=int, default=12)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--end", help="last day of the period (YYYY-MM-DD)")
    s.add_argument("--format", choices=("canonical", "vendor", "both", "practice", "all"), default="canonical",
                   help="practice: the multi-source shape (practice/); all: canonical, vendor and practice")
    s.add_argument("--single-file", action="store_true")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("effects", help="per child per measure: child-led vs directed NAP (with CI), Tau, Tau-U, "
                                       "PND, Tau-BC, in the measure's direction")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--measure", metavar="ID", help="one measure of measures.toml (default: every session-level one)")
    s.add_argument("--json", action="store_true", help="a JSON array of the rows (full precision)")
    s.set_defaults(func=cmd_effects)


    s = sub.add_parser("serve-from", help="run the dashboard on Parquet marts (made by load --engine spark)")
    s.add_argument("marts", metavar="MARTS_DIR", help="the folder load --engine spark --out wrote")
    s.add_argument("--db", type=Path, help="the serving file to write (default MARTS_DIR/serving.duckdb)")
    s.add_argument("--port", type=int, default=8501, help="the dashboard's port (default 8501)")
    s.add_argument("--write-only", action="store_true",
                   help="write the serving file and print how to point a dashboard at it; do not start one")
    s.set_defaults(func=cmd_serve_from)

    s = sub.add_parser("meeting-pack", help="team meeting pack: pack.html, pack.pdf (needs Chromium) and pack.xlsx")
    s.add_argument("--team", help="team name (or give --therapist alone)")
    s.add_argument("--therapist", help="therapist id: the pack for one therapist (within --team when given)")
    s.add_argument("--from", dest="date_from", metavar="DATE",
                   help="first day of the period, YYYY-MM-DD (default: 4 weeks before --to)")
    s.add_argument("--to", dest="date_to", metavar="DATE",
                   help="last day of the period, YYYY-MM-DD (default: the latest session loaded)")
    s.add_argument("--out", required=True, metavar="DIR", help="folder for pack.html, pack.pdf and pack.xlsx")
    s.add_argument("--db", type=Path, help=db_help)
    s.add_argument("--suppress-small-cells", action="store_true",
                   help="for packs shared beyond the team: figures resting on fewer than [privacy] small_cell_min "
                        "children show as <N, and child-level lists become counts")
    s.set_defaults(func=cmd_meeting_pack)

    s = sub.add_parser("child-report", help="one child's progress report: HTML, PDF (needs Chromium) and Word")
    s.add_argument("--child", required=True, metavar="ID", help="the child's pseudonymous id")
    s.add_argument("--from", dest="date_from", metavar="DATE", help="first day, YYYY-MM-DD (default: the first session)")
    s.add_argument("--to", dest="date_to", metavar="DATE", help="last day, YYYY-MM-DD (default: the latest session)")
    s.add_argument("--out", required=True, metavar="DIR", help="folder for progress_<child>_<from>_<to>.<format>")
    s.add_argument("--format", default="pdf,html,docx", metavar="LIST", help="comma-separated: pdf, html, docx")
    s.add_argument("--parent", action="store_true", help="the family version: no statistics, larger type")
    s.add_argument("--name", help="a display name to print in the files only (never stored or logged)")
    s.add_argument("--narrative", metavar="FILE", help="a text file with the therapist's narrative (into the files only)")
    s.add_argument("--plan", metavar="FILE", help="a text file with the plan (into the files only)")
    s.add_argument("--db", type=Path, help=db_help)
    s.set_defaults(func=cmd_child_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # --help ends here, before the load modules are imported

    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("interrupted; the warehouse is unchanged")
        return 130
    except (errors.LoadAborted, AuditUnavailable, errors.SettingsError) as exc:
        _err(str(exc))
        return 1
    except OSError as exc:  # a folder or file the command needs cannot be used
        _err(f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return 1
