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
def audit(source, out_dir, fmt, mapping, config, as_of, policy, fail_on, selected, disabled, encoding, sheet,
          nppes, leie, narrative, max_download_mb, site_profile, http_cache, refresh, max_pages, quiet):
    """Audit SOURCE (CSV/Excel export, QHP index.json or providers.json, a FHIR Plan-Net file, folder or
    API base URL, or with --profile a directory website) and write the outputs to --out."""
    import time
    entered = time.time()
    from .audit import audit as run_audit
    from .outputs import write_outputs
    from .progress import Progress
    from .settings import load_settings

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
    with Progress(quiet=quiet) as progress:
        result = run_audit(source, settings, format=fmt, progress=progress, stage_peaks=peaks)
        written = write_outputs(result, out_dir, settings, timings=outputs)
    code = result.exit_code(settings.fail_on)
    _record_timings(entered, result, peaks, outputs)
    if not quiet:
        s = result.summary
        sev = s["findings_by_severity"]
        click.echo(f"{s['rows_audited']} provider-locations ({s['providers_audited']} providers) audited: "
                   f"{sev['error']} errors, {sev['warning']} warnings, {sev['info']} info. "
                   f"Wrote {', '.join(p.name for p in written)} to {out_dir}.", err=True)
    sys.exit(code)


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
