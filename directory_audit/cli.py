"""The ``directory-audit`` command: a thin layer over the library. Each command parses its options,
calls one library function and formats the result. Exit codes: 0 no finding at or above
``--fail-on``; 1 findings at or above it; 2 the audit could not run (usage, input or settings)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import DirectoryAuditError

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Group(click.Group):
    def main(self, *args, **kwargs):
        # click exits 2 on usage errors already; make every DirectoryAuditError exit 2 with one paragraph.
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            exc.show()
            sys.exit(EXIT_ERROR)
        except DirectoryAuditError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_ERROR)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="directory-audit")
def main() -> None:
    """Audit a health insurer's provider directory against Oregon's Transparency factors
    (OAR 836-053-0340(2)(c)) and write findings, a summary and evidence reports."""


def run() -> None:
    """The console entry point: ``main``, then leave at once. A million-row audit holds millions of
    Python objects, and the interpreter's teardown frees them one by one for seconds after every
    output is written and closed; there is nothing left to clean up, so skip it."""
    import os
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@main.command()
@click.argument("source")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for findings.csv, findings.jsonl, summary.json and the reports.")
@click.option("--format", "fmt", default="auto", show_default=True,
              type=click.Choice(["auto", "csv", "xlsx", "qhp", "plannet"]), help="Source format; auto sniffs it.")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML [columns] file naming the headers our synonyms do not know.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML settings file: policy, thresholds, service area, check options.")
@click.option("--as-of", help="Date the directory is judged at, YYYY-MM-DD (default today).")
@click.option("--policy", help="Verification window: nsa (90 days), medicaid (30), qhp (31), or one in --config.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]),
              help="Exit 1 when a finding is at or above this severity (default error).")
@click.option("--check", "selected", multiple=True, help="Run only these checks (id, family or factor item).")
@click.option("--skip", "disabled", multiple=True, help="Skip these checks (id, family or factor item).")
@click.option("--encoding", help="Text encoding of a CSV export (default utf-8).")
@click.option("--sheet", help="Excel sheet to read (default the first).")
@click.option("--nppes", type=click.Path(dir_okay=False, path_type=Path), help="NPPES NPI file (or subset) to cross-check.")
@click.option("--leie", type=click.Path(dir_okay=False, path_type=Path), help="OIG LEIE exclusion file to cross-check.")
@click.option("--narrative", type=click.Path(dir_okay=False, path_type=Path),
              help="Insurer narrative (TOML or YAML) for the items data cannot show; see init-narrative.")
@click.option("--max-download-mb", type=click.FloatRange(min=0, min_open=True),
              help="Stop (exit 2) when a fetched file is larger than this many MB (default 2048).")
@click.option("--profile", "site_profile", type=click.Path(dir_okay=False, path_type=Path),
              help="Site profile (TOML) of a directory website: SOURCE is then the site's URL, a saved page, "
                   "a folder of saved pages or an archive.warc.gz.")
@click.option("--cache", "http_cache", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the HTTP cache (default: the user cache directory).")
@click.option("--refresh", is_flag=True, default=None, help="Fetch again, ignoring cached responses.")
@click.option("--max-pages", type=click.IntRange(min=1), help="Stop a crawl after this many pages.")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line.")
@click.option("--history", "history_url", metavar="URL",
              help="History store to remember this run in: a SQLite file path or a SQLAlchemy URL "
                   "(postgresql+psycopg://user@host/db). Enables diffs, trends and measured update frequency.")
@click.option("--keep", type=click.IntRange(min=1), help="With --history: keep only the newest N runs.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Append a log of the run (start, lock, commit, errors) to this file; for cron.")
def audit(source, out_dir, fmt, mapping, config, as_of, policy, fail_on, selected, disabled, encoding, sheet,
          nppes, leie, narrative, max_download_mb, site_profile, http_cache, refresh, max_pages, quiet,
          history_url, keep, log_file):
    """Audit SOURCE (CSV/Excel export, QHP index.json or providers.json, a FHIR Plan-Net file, folder or
    API base URL, or with --profile a directory website) and write the outputs to --out."""
    import time
    entered = time.time()
    from .audit import audit as run_audit
    from .outputs import write_outputs
    from .progress import Progress
    from .settings import load_settings

    _use_system_allocator_for_arrow()
    for opt, path in (("--nppes", nppes), ("--leie", leie), ("--narrative", narrative), ("--profile", site_profile)):
        if path is not None and not Path(path).exists():
            raise click.BadParameter(f"{path} does not exist.", param_hint=opt)
    settings = load_settings(config, as_of=as_of, policy=policy, fail_on=fail_on, encoding=encoding, sheet=sheet,
                             mapping_file=mapping, nppes_file=nppes, leie_file=leie, quiet=quiet,
                             selected_checks=tuple(selected) or None, disabled_checks=tuple(disabled) or None,
                             narrative_file=narrative, max_download_mb=max_download_mb,
                             site_profile=site_profile, http_cache_dir=http_cache, http_refresh=refresh,
                             max_pages=max_pages, archive_dir=out_dir if site_profile is not None else None)
    if settings.narrative_file is not None:
        from .narrative import load_narrative
        load_narrative(settings.narrative_file)   # a bad narrative file fails before the audit runs (exit 2)
    peaks: dict[str, float] = {}
    outputs: dict[str, float] = {}
    if history_url:
        written, result = _audit_with_history(source, settings, out_dir, fmt, history_url, keep, log_file, quiet)
    elif keep or log_file:
        raise click.UsageError("--keep and --log-file go with --history URL.")
    else:
        with Progress(quiet=quiet) as progress:
            result = run_audit(source, settings, format=fmt, progress=progress, stage_peaks=peaks)
            written = write_outputs(result, out_dir, settings, timings=outputs)
    code = result.exit_code(settings.fail_on)
    _record_timings(entered, result, peaks, outputs)
    if not quiet:
        s = result.summary
        sev = s["findings_by_severity"]
        click.echo(f"{s['rows_read']} rows read, {s['rows_audited']} provider-locations ({s['providers_audited']} providers) audited: "
                   f"{sev['error']} errors, {sev['warning']} warnings, {sev['info']} info. "
                   f"Wrote {', '.join(p.name for p in written)} to {out_dir}.", err=True)
    sys.exit(code)


def _use_system_allocator_for_arrow() -> None:
    """Arrow's default allocator (mimalloc) keeps the pages of freed Arrow arrays for Arrow alone;
    with the system allocator, numpy and Python reuse them. A million-row audit peaks about 120 MB
    lower (1,934 -> 1,811 MB), no slower. An ARROW_DEFAULT_MEMORY_POOL set by the user wins."""
    import os
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        import pyarrow as pa
        pa.set_memory_pool(pa.system_memory_pool())


def _record_timings(entered: float, result, peaks: dict, outputs: dict) -> None:
    """With DIRECTORY_AUDIT_TIMINGS=FILE in the environment, write the run's stage seconds and peak
    memory to FILE as JSON (benchmarks/run.py reads it; operations can log it from cron)."""
    import os
    path = os.environ.get("DIRECTORY_AUDIT_TIMINGS")
    if not path:
        return
    import resource
    import time
    families: dict[str, float] = {}
    for r in result.check_runs:
        family = r.check_id.split(".")[0]
        families[family] = families.get(family, 0.0) + r.seconds
    peaks = dict(peaks, outputs=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    Path(path).write_text(json.dumps({
        "entered": entered, "left": time.time(), "stages": result.summary["stage_seconds"], "outputs": outputs,
        "families": families, "checks": {r.check_id: round(r.seconds, 4) for r in result.check_runs},
        "peak_mb": peaks, "rows": result.summary["rows_audited"], "findings": result.summary["findings_total"]}))


@main.command("checks")
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
def list_checks(fmt):
    """Print the catalogue of checks: id, severity, factor item and title."""
    from .registry import load_catalogue
    catalogue = load_catalogue()
    if fmt == "json":
        click.echo(json.dumps([s.describe() for s in catalogue.values()], indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title=f"{len(catalogue)} checks")
    for col in ("id", "severity", "factor", "title"):
        table.add_column(col)
    for s in catalogue.values():
        table.add_row(s.id, s.severity.value, s.factor, s.title)
    Console(width=160).print(table)


@main.command("init-narrative")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["toml", "yaml"]),
              help="Template format (default: from FILE's extension, .yaml/.yml for YAML, else TOML).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init_narrative(file, fmt, force):
    """Write the insurer narrative template to FILE: the questions only the insurer can answer (T1.ii
    link and disclosure, T1.iii process, T1.iv responsible position, T2.i-T2.iii), for --narrative."""
    from .narrative import template
    from .outputs import atomic_write
    if file.exists() and not force:
        raise click.UsageError(f"{file} exists; pass --force to overwrite it.")
    fmt = fmt or ("yaml" if file.suffix.lower() in (".yaml", ".yml") else "toml")
    text = template(fmt)
    atomic_write(file, lambda fh: fh.write(text))
    click.echo(f"Wrote the narrative template ({fmt}) to {file}. Fill in the answers, then run "
               f"`directory-audit audit SOURCE --out DIR --narrative {file}`.", err=True)


# --- history (directory_audit.history, directory_audit.nightly) ------------------------------------------

EXIT_LOCKED = 75      # EX_TEMPFAIL: another run holds the history store; cron tries again next time


def _audit_with_history(source, settings, out_dir, fmt, history_url, keep, log_file, quiet):
    from .history import StoreLocked
    from .nightly import run
    from .progress import Progress
    try:
        with Progress(quiet=quiet) as progress:
            done = run(source, settings, out_dir, history_url, fmt=fmt, progress=progress, keep=keep,
                       log_file=log_file)
    except StoreLocked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    if not quiet:
        h = done.result.summary.get("history") or {}
        c = (h.get("changes") or {}).get("counts")
        since = (f"; since the last run: {c['added']} added, {c['removed']} removed, {c['changed']} changed, "
                 f"{c['findings_new']} new and {c['findings_resolved']} resolved findings") if c else "; first run in the store"
        click.echo(f"Stored as run {done.saved.run_id} in {done.store.name}{since}.", err=True)
    return done.written, done.result


def _existing_store(history_url: str):
    from .history import Store, open_store
    probe = Store(history_url)
    if probe.path is not None and not probe.path.exists():
        raise click.BadParameter(f"no history store at {probe.path}.", param_hint="--history")
    return open_store(history_url)


_history_option = click.option("--history", "history_url", required=True, metavar="URL",
                               help="History store: a SQLite file path or a SQLAlchemy URL.")


@main.command("history")
@_history_option
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
def history_cmd(history_url, fmt):
    """List the runs in a history store: id, dates, source, rows, findings, changes since the run before."""
    store = _existing_store(history_url)
    rows = store.runs()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title=f"{len(rows)} run(s) in {store.name}")
    for col in ("run", "started", "as of", "rows", "errors", "warnings", "info", "+rows", "-rows", "changed",
                "joined", "left", "manifest"):
        table.add_column(col, justify="right" if col not in ("started", "as of", "manifest") else "left")
    for r in rows:
        table.add_row(str(r["id"]), r["started_at"], r["as_of"], f"{r['rows_audited']:,}", str(r["errors"]),
                      str(r["warnings"]), str(r["info"]), str(r["rows_added"] or 0), str(r["rows_removed"] or 0),
                      str(r["rows_changed"] or 0), str(r["providers_joined"] or 0), str(r["providers_left"] or 0),
                      r["manifest_sha256"][:12])
    Console(width=180).print(table)


@main.command("diff")
@_history_option
@click.argument("run_a", type=int, required=False)
@click.argument("run_b", type=int, required=False)
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=None,
              help="At most N rows per list (default: all for json, 20 for the table).")
def diff_cmd(history_url, run_a, run_b, fmt, limit):
    """What changed between two runs (default: the last two): provider-locations added, removed and
    changed (fields, old and new values) and findings new and resolved."""
    store = _existing_store(history_url)
    d = store.diff(run_a, run_b, limit=limit if limit is not None or fmt == "json" else 20)
    if fmt == "json":
        click.echo(json.dumps(d, indent=2, default=str))
        return
    c = d["counts"]
    click.echo(f"run {d['run_a']['id']} ({d['run_a']['as_of']}) -> run {d['run_b']['id']} ({d['run_b']['as_of']}): "
               f"{c['added']} added, {c['removed']} removed, {c['changed']} changed provider-locations; "
               f"{c['findings_new']} new, {c['findings_resolved']} resolved findings")
    for label, rows in (("added", d["added"]), ("removed", d["removed"])):
        for r in rows:
            click.echo(f"  {label:8} {r['key']}  {r['display_name']}, {r['address_line1']}, {r['city']} {r['zip']}")
    for r in d["changed"]:
        fields = "; ".join(f"{f}: {v['old']!r} -> {v['new']!r}" for f, v in r["fields"].items())
        click.echo(f"  changed  {r['key']}  {r['display_name']}: {fields}")
    for label, rows in (("new", d["findings"]["new"]), ("resolved", d["findings"]["resolved"])):
        for f in rows:
            click.echo(f"  {label:8} {f['check_id']} {f['npi'] or ''} {f['provider_name']} {f['field']}={f['observed']!r}")


@main.command("verify-history")
@_history_option
@click.option("--manifest", "manifests", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Also check a run folder's manifest.json against the store (repeatable).")
@click.option("--format", "fmt", default="table", type=click.Choice(["table", "json"]), show_default=True)
def verify_history_cmd(history_url, manifests, fmt):
    """Check the store's chain of manifests and the stored rows against them. Exit 0 when intact,
    1 when anything was altered (each problem is listed)."""
    store = _existing_store(history_url)
    report = store.verify(list(manifests))
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    elif report["ok"]:
        click.echo(f"{store.name}: {report['runs_checked']} run(s), chain intact "
                   f"(head manifest {report['head_manifest_sha256']}).")
    else:
        click.echo(f"{store.name}: {len(report['problems'])} problem(s) in {report['runs_checked']} run(s):", err=True)
        for p in report["problems"]:
            click.echo(f"  {p}", err=True)
    sys.exit(EXIT_OK if report["ok"] else EXIT_FINDINGS)


@main.command("sweep")
@click.argument("market", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for market.json, market.html and one folder of outputs per insurer. With --scheduler "
                   "every worker must see it at the same path (a shared file system).")
@click.option("--scheduler", help="Address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                  "(default: a local cluster on this machine).")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes of the local cluster (default: the core count).")
@click.option("--state", "states", multiple=True, help="Only insurers of this state (two letters; repeat for more).")
@click.option("--mapping", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML [columns] file for CSV/Excel sources whose market row names no mapping.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path),
              help="TOML settings file: policy, thresholds, service area, check options.")
@click.option("--as-of", help="Date the directories are judged at, YYYY-MM-DD (default today).")
@click.option("--policy", help="Verification window: nsa (90 days), medicaid (30), qhp (31), or one in --config.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info", "never"]),
              help="Exit 1 when an insurer has a finding at or above this severity, or could not be audited (default error).")
@click.option("--check", "selected", multiple=True, help="Run only these checks (id, family or factor item).")
@click.option("--skip", "disabled", multiple=True, help="Skip these checks (id, family or factor item).")
@click.option("--encoding", help="Text encoding of CSV exports (default utf-8).")
@click.option("--sheet", help="Excel sheet to read (default the first).")
@click.option("--nppes", type=click.Path(dir_okay=False, path_type=Path), help="NPPES NPI file (or subset) to cross-check.")
@click.option("--leie", type=click.Path(dir_okay=False, path_type=Path), help="OIG LEIE exclusion file to cross-check.")
@click.option("--max-download-mb", type=click.FloatRange(min=0, min_open=True),
              help="A fetched file larger than this many MB makes that feed dead (default 2048).")
@click.option("--requests-per-second", type=click.FloatRange(min=0, min_open=True),
              help="Requests per second to one host, per feed being fetched (default 1).")
@click.option("--quiet", is_flag=True, help="No progress bar and no summary line.")
def sweep_command(market, out_dir, scheduler, workers, states, mapping, config, as_of, policy, fail_on, selected,
                  disabled, encoding, sheet, nppes, leie, max_download_mb, requests_per_second, quiet):
    """Audit every insurer of MARKET on a Dask cluster: the CMS machine-readable URL PUF (State, Issuer ID,
    URL Submitted, Tech POC Email) or a CSV insurer,source[,format,mapping,profile,state]. Writes
    DIR/market.json, DIR/market.html and DIR/<issuer>/ (findings, summary, reports)."""
    from .findings import Severity
    from .progress import Progress
    from .settings import load_settings
    from .sweep import STATUS_OK, sweep

    for opt, path in (("--nppes", nppes), ("--leie", leie), ("--mapping", mapping)):
        if path is not None and not Path(path).exists():
            raise click.BadParameter(f"{path} does not exist.", param_hint=opt)
    settings = load_settings(config, as_of=as_of, policy=policy, fail_on=fail_on, encoding=encoding, sheet=sheet,
                             mapping_file=mapping, nppes_file=nppes, leie_file=leie, quiet=quiet,
                             selected_checks=tuple(selected) or None, disabled_checks=tuple(disabled) or None,
                             max_download_mb=max_download_mb)
    with Progress(quiet=quiet) as progress:
        result = sweep(market, out_dir, settings, scheduler=scheduler, workers=workers, states=states,
                       progress=progress, http_overrides={"requests_per_second": requests_per_second}
                       if requests_per_second else None)
    t = result["totals"]
    if not quiet:
        status = ", ".join(f"{n} {s}" for s, n in t["by_status"].items())
        click.echo(f"{t['issuers']} insurers ({status}) in {t['feeds']} feeds: {t['rows_audited']} provider-locations, "
                   f"{t['findings_total']} findings, {t['cross_insurer_findings']} cross-insurer findings. "
                   f"Wrote market.json and market.html to {out_dir}.", err=True)
    code = EXIT_OK
    if settings.fail_on != "never":
        rank = Severity(settings.fail_on).rank
        for r in result["issuers"]:
            hit = any(int(n) and Severity(s).rank >= rank for s, n in (r["findings_by_severity"] or {}).items())
            if hit or r["status"] != STATUS_OK:
                code = EXIT_FINDINGS
    sys.exit(code)
