"""An audit run that is remembered: ``directory-audit audit SOURCE --out DIR --history URL``.

The order is what makes it safe under cron:

1. open the store (migrating it) and take its lock: a second run exits 75 naming the holder;
2. read the store's past (``HistoryEvidence``) and run the audit with it;
3. write the run's rows in one transaction, committed last: a run killed before the commit leaves
   nothing; SIGTERM is turned into an orderly exit so the transaction is rolled back and the lock
   released (SIGKILL needs no help: the database discards the open transaction and the OS or the
   server drops the lock);
4. write the outputs (findings, summary, reports, ``manifest.json``), then apply ``--keep``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .history import SavedRun, Store, open_store, stated_frequency
from .outputs import atomic_write

#: Test hook: seconds to wait after the run's rows are written and before the commit, so a test can
#: kill the process at that exact point. Never set in production.
PAUSE_ENV = "DIRECTORY_AUDIT_PAUSE_BEFORE_COMMIT"


@dataclass
class NightlyRun:
    result: object
    saved: SavedRun
    written: list[Path]
    pruned: int
    store: Store


def logger(log_file: Path | None) -> logging.Logger:
    """The run's log: appended to ``--log-file`` with time, pid and level; silent without one."""
    log = logging.getLogger("directory_audit.nightly")
    log.setLevel(logging.INFO)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s pid=%(process)d %(message)s"))
        log.addHandler(handler)
    else:
        log.addHandler(logging.NullHandler())
    return log


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """SIGTERM (systemd stop, ``timeout``, ``kill``) raises SystemExit(143) where the run is, so the
    open transaction rolls back and the lock is let go on the way out."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:          # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(source: str, settings, out_dir: Path, history: str, fmt: str = "auto", progress=None,
        keep: int | None = None, log_file: Path | None = None) -> NightlyRun:
    """Audit ``source`` and remember the run in the store ``history``; see the module docstring."""
    from .audit import audit
    from .outputs import write_outputs
    from .registry import load_catalogue

    log = logger(log_file)
    log.info("audit of %s starting; history store %s", source, history)
    committed = None
    try:
        store = open_store(history)
        with sigterm_exits(), store.lock():
            t0 = time.perf_counter()
            evidence = store.evidence(stated_frequency(settings))
            result = audit(source, settings, format=fmt, progress=progress, history=evidence)

            def before_commit(run_id: int) -> None:
                log.info("run %s rows written; committing", run_id)
                for h in log.handlers:
                    h.flush()
                pause = float(os.environ.get(PAUSE_ENV) or 0)
                if pause:
                    time.sleep(pause)

            saved = store.save(result, evidence, load_catalogue(), before_commit=before_commit)
            committed = saved.run_id
            log.info("run %s committed: %s rows, %s findings, manifest %s", saved.run_id,
                     result.summary["rows_audited"], result.summary["findings_total"], saved.manifest_sha256)
            result.summary["history"] = {**saved.history, "manifest_sha256": saved.manifest_sha256}
            written = write_outputs(result, out_dir, settings)
            written.append(atomic_write(Path(out_dir) / "manifest.json", lambda fh: fh.write(saved.manifest)))
            pruned = store.prune(keep) if keep else 0
            if pruned:
                log.info("--keep %s: deleted %s older run(s)", keep, pruned)
            log.info("audit finished in %.1f s; outputs in %s", time.perf_counter() - t0, out_dir)
            return NightlyRun(result=result, saved=saved, written=written, pruned=pruned, store=store)
    except SystemExit as exc:
        log.error("stopped (exit %s) %s", exc.code, f"after run {committed} was committed" if committed
                  else "before the run was committed: nothing was stored")
        raise
    except Exception as exc:
        log.error("%s: %s", type(exc).__name__, exc)
        raise
