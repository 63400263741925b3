"""The history store: every audit run remembered in SQLite or PostgreSQL, so the next run can say what
changed, how often the directory really changes (T1.ii) and how the network moved (T2.iii).

One store holds the runs of one directory. ``--history URL`` names it: a bare path is a SQLite file,
anything else a SQLAlchemy URL (``postgresql+psycopg://user@host/db``). The schema is created and
upgraded by the Alembic migrations shipped in ``directory_audit/migrations``, run on open, so a store
written by an older version is upgraded in place.

What a run stores:

* ``runs``: the run's facts (as-of, source, format, settings, tool and check-catalogue versions,
  input checksum, duration, counts), its manifest (JSON text) and the manifest's SHA-256;
* ``run_items`` / ``run_metrics``: findings by severity and the numeric metric values per factor item
  (the trend chart reads these);
* ``run_changes``: what changed since the previous run (rows added / removed / changed, providers
  joining and leaving, locations opening and closing, accepting flags flipping, last-updated dates);
* ``locations`` and ``findings``: *versions*. A provider-location (stable key: NPI or provider key,
  plus location key) is stored once per distinct content, with the first and last run it was seen in
  (``last_run`` NULL while it is current). A nightly run of an unchanged 10,000-row directory adds
  no location rows at all; the state at run R is ``first_run <= R and (last_run is null or
  last_run >= R)``, and the difference between two runs touches only the versions that changed
  between them. Findings are versioned the same way, keyed by a fingerprint that ignores the row
  number (which moves when rows are added above).

Tamper evidence: each run's manifest names the previous run's manifest hash (a chain), the input
checksum, the settings and versions, and digests of the run's provider-location and finding states
(the sum, modulo 2**64, of every version's 64-bit content hash; updated per run from the versions
opened and closed). ``verify`` recomputes every content hash from the stored values, every digest and
every link. The row digests detect edits made through the database, not a forger who recomputes all
hashes: the chain's SHA-256 and a copy of ``manifest.json`` kept elsewhere are what pin a run.

Cron safety: ``Store.lock()`` is one writer per store (a lock file beside a SQLite file, taken with
``fcntl.flock``; a PostgreSQL advisory lock), released by the operating system or the server when the
process dies; a run's rows are written in one transaction committed last, so a run killed at any
point leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import sqlalchemy as sa

from .errors import ConfigError, DirectoryAuditError

MANIFEST_VERSION = 1
#: Fields kept per provider-location version: what a diff reports as changed.
SNAPSHOT_FIELDS = ("npi", "provider_key", "location_key", "display_name", "provider_type", "specialty_codes",
                   "address_line1", "address_line2", "city", "state", "zip", "phone", "accepting_status",
                   "languages", "plan_ids", "network_ids", "last_updated")
#: Finding columns kept per finding version; the fingerprint uses FINGERPRINT_FIELDS only.
FINDING_FIELDS = ("check_id", "severity", "factor_item", "record_id", "npi", "provider_name", "field",
                  "observed", "expected", "message")
FINGERPRINT_FIELDS = ("check_id", "factor_item", "npi", "provider_name", "field", "observed")
#: What a version's content hash covers. A finding version is its fingerprint and severity: the row
#: number and the message (which can quote the record's age) change nightly without the finding changing,
#: so they are kept as first seen.
LOCATION_HASHED = ("key",) + SNAPSHOT_FIELDS
FINDING_HASHED = ("fingerprint", "severity")
CHANGE_COUNTS = ("rows_added", "rows_removed", "rows_changed", "providers_joined", "providers_left",
                 "locations_opened", "locations_closed", "accepting_on", "accepting_off", "last_updated_changed",
                 "findings_new", "findings_resolved")
#: Metrics the trend chart follows, one share per factor item: (item, metric id, value key, label).
KEY_METRICS = (
    ("T1.i", "location.valid_share", "share", "valid address and phone"),
    ("T1.ii", "update.age_summary", "share_within_window", "updated within the window"),
    ("T1.iii", "open_practice.flag_coverage", "share", "valid accepting flag"),
    ("T2.iv", "language.disclosure_share", "share_non_english", "providers with a non-English language"),
    ("T2.v", "open_practice.accepting_share", "share_accepting", "accepting new patients"),
)
ACCEPTING = "accepting"
NOT_ACCEPTING = ("not_accepting", "existing_patients_only")
PG_LOCK_KEY = 0x6469_7261_7564   # "diraud": one advisory lock per database = per store
EXIT_LOCKED = 75                 # EX_TEMPFAIL: cron may try again later

metadata = sa.MetaData()
runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=False),
    sa.Column("as_of", sa.String(10), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("format", sa.String(40)),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("tool_version", sa.String(40), nullable=False),
    sa.Column("catalogue_version", sa.String(40), nullable=False),
    sa.Column("input_checksum", sa.String(200)),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("rows_audited", sa.Integer, nullable=False),
    sa.Column("providers_audited", sa.Integer),
    sa.Column("findings_total", sa.Integer, nullable=False),
    sa.Column("errors", sa.Integer), sa.Column("warnings", sa.Integer), sa.Column("info", sa.Integer),
    sa.Column("snapshot_digest", sa.String(16), nullable=False),
    sa.Column("findings_digest", sa.String(16), nullable=False),
    sa.Column("manifest", sa.Text, nullable=False),
    sa.Column("manifest_sha256", sa.String(64), nullable=False),
    sa.Column("previous_manifest_sha256", sa.String(64)),
)
run_items = sa.Table(
    "run_items", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("factor_item", sa.String(10), primary_key=True),
    sa.Column("errors", sa.Integer, nullable=False), sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("info", sa.Integer, nullable=False),
)
run_metrics = sa.Table(
    "run_metrics", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("metric", sa.String(80), primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("factor_item", sa.String(10), nullable=False),
    sa.Column("value", sa.Float),
)
run_changes = sa.Table(
    "run_changes", metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("previous_run_id", sa.Integer),
    *[sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in CHANGE_COUNTS],
    sa.Column("newest_last_updated", sa.String(10)),
    sa.Column("distinct_last_updated", sa.Integer),
)
locations = sa.Table(
    "locations", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("first_run", sa.Integer, nullable=False),
    sa.Column("last_run", sa.Integer),
    sa.Column("content_hash", sa.BigInteger, nullable=False),
    *[sa.Column(name, sa.Text) for name in SNAPSHOT_FIELDS],
    # (first, last) and (last, first): a diff's range conditions are answered inside the index
    sa.Index("ix_locations_first_last", "first_run", "last_run"),
    sa.Index("ix_locations_last_first", "last_run", "first_run"),
)
findings = sa.Table(
    "findings", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(40), nullable=False),
    sa.Column("first_run", sa.Integer, nullable=False),
    sa.Column("last_run", sa.Integer),
    sa.Column("content_hash", sa.BigInteger, nullable=False),
    *[sa.Column(name, sa.Text) for name in FINDING_FIELDS],
    # (first, last) and (last, first): a diff's range conditions are answered inside the index
    sa.Index("ix_findings_first_last", "first_run", "last_run"),
    sa.Index("ix_findings_last_first", "last_run", "first_run"),
)
store_meta = sa.Table(
    "store_meta", metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("value", sa.Text),
)


class StoreLocked(DirectoryAuditError):
    """Another run holds the store's lock. The CLI exits 75 (EX_TEMPFAIL) naming the holder."""

    def __init__(self, store: str, holder: dict[str, Any]):
        self.holder = holder
        who = (f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started "
               f"{holder.get('started_at', '?')}") if holder else "an unknown process"
        super().__init__(f"history store {store} is locked by {who}: another audit is writing to it. "
                         f"Nothing was run; try again when it has finished (exit {EXIT_LOCKED}).")


class HistoryError(DirectoryAuditError):
    """A history request that cannot be answered: an unknown run id, an empty store."""


# --- snapshots and comparisons (pure pandas, no database) ---------------------------------------------------

def _frame(rows, columns) -> pd.DataFrame:
    """Result rows as a frame, column by column (building it row object by row object is ~30x slower)."""
    columns = list(columns)
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    # object, not inferred Arrow strings: the comparisons below (isin, merge) hash Python objects in C
    return pd.DataFrame({c: pd.Series(np.asarray(v, dtype=object), dtype=object) for c, v in zip(columns, zip(*rows))})


def _objects(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype=object)


def _text_columns(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for name in names:
        col = frame[name] if name in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        if pd.api.types.is_datetime64_any_dtype(col):
            col = col.dt.strftime("%Y-%m-%d")
        out[name] = col.astype(object).where(col.notna(), "").astype(str)
    return out


def row_hashes(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """A 64-bit hash per row over ``names`` (text), stable across runs, versions and machines
    (pandas' documented hash with its fixed key)."""
    if not len(frame):
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_pandas_object(frame[list(names)], index=False).to_numpy(dtype=np.uint64)


def hex_hashes(values: np.ndarray) -> np.ndarray:
    return np.array([f"{int(v):016x}" for v in values], dtype=object)


def signed(values: np.ndarray) -> np.ndarray:
    """uint64 hashes as the int64 a BIGINT column holds (same bits)."""
    return np.asarray(values, dtype=np.uint64).view(np.int64)


def digest(hashes) -> str:
    """Order-free digest of a set of versions: the sum of their content hashes modulo 2**64."""
    values = np.asarray(hashes, dtype=np.int64).view(np.uint64)
    with np.errstate(over="ignore"):
        total = values.sum(dtype=np.uint64) if len(values) else np.uint64(0)
    return f"{int(total):016x}"


def _occurrence_keys(base: pd.Series) -> pd.Series:
    """``base``, with ``#2``, ``#3`` ... appended to the second and later rows sharing one value, so a
    key is unique within a run (duplicate listings are kept, not merged)."""
    n = base.groupby(base, sort=False).cumcount()
    return base.where(n == 0, base + "#" + (n + 1).astype(str))


def snapshot(table: pd.DataFrame) -> pd.DataFrame:
    """The provider-location snapshot of a canonical table: stable key, the SNAPSHOT_FIELDS as text
    and a content hash. Key: NPI (else provider key) @ location key."""
    snap = _text_columns(table, SNAPSHOT_FIELDS)
    who = snap["npi"].where(snap["npi"] != "", snap["provider_key"])
    snap.insert(0, "key", _occurrence_keys(who + "@" + snap["location_key"]).to_numpy())
    snap["content_hash"] = signed(row_hashes(snap, LOCATION_HASHED))
    return snap.reset_index(drop=True)


def finding_versions(frame: pd.DataFrame) -> pd.DataFrame:
    """The findings with a fingerprint (check, item, NPI, provider, field, observed value and
    occurrence: not the row number, which moves when rows are added above) and a content hash."""
    out = _text_columns(frame, FINDING_FIELDS)
    fp = hex_hashes(row_hashes(out, FINGERPRINT_FIELDS)) if len(out) else np.zeros(0, dtype=object)
    out.insert(0, "fingerprint", _occurrence_keys(pd.Series(fp, index=out.index, dtype=object)).to_numpy())
    out["content_hash"] = signed(row_hashes(out, FINDING_HASHED))
    return out.reset_index(drop=True)


def network_changes(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, int]:
    """What changed between two snapshots: rows added / removed / changed, providers joining and
    leaving (NPI or provider key), locations opening and closing (location key), accepting flags
    flipping on a provider-location listed in both, last-updated dates that moved."""
    cols = ["key", "content_hash", "accepting_status", "last_updated"]
    # hashes as Python ints: an outer join would turn int64 with gaps into float64 and lose bits
    merged = before[cols].astype({"content_hash": object}).merge(
        after[cols].astype({"content_hash": object}), on="key", how="outer", suffixes=("_a", "_b"), indicator=True)
    both = merged[merged["_merge"] == "both"]

    def who(s: pd.DataFrame) -> set:
        npi, key = _objects(s["npi"]), _objects(s["provider_key"])
        return set(np.where(npi != "", npi, key))

    def places(s: pd.DataFrame) -> set:
        return set(_objects(s["location_key"])) - {""}

    a_acc, b_acc = both["accepting_status_a"], both["accepting_status_b"]
    return {
        "rows_added": int((merged["_merge"] == "right_only").sum()),
        "rows_removed": int((merged["_merge"] == "left_only").sum()),
        "rows_changed": int((both["content_hash_a"] != both["content_hash_b"]).sum()),
        "providers_joined": len(who(after) - who(before)),
        "providers_left": len(who(before) - who(after)),
        "locations_opened": len(places(after) - places(before)),
        "locations_closed": len(places(before) - places(after)),
        "accepting_on": int(((a_acc != ACCEPTING) & (b_acc == ACCEPTING)).sum()),
        "accepting_off": int(((a_acc == ACCEPTING) & b_acc.isin(NOT_ACCEPTING)).sum()),
        "last_updated_changed": int((both["last_updated_a"] != both["last_updated_b"]).sum()),
    }


def changed_fields(a: pd.DataFrame, b: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    """For two snapshots' rows of the same keys, the fields that differ with old and new values."""
    m = a.merge(b, on="key", suffixes=("_a", "_b"))
    m = m[m["content_hash_a"] != m["content_hash_b"]].sort_values("key")
    if limit is not None:
        m = m.head(limit)
    out = []
    diffs = {f: (m[f + "_a"] != m[f + "_b"]).to_numpy() for f in SNAPSHOT_FIELDS}
    for i, row in enumerate(m.to_dict(orient="records")):
        fields = {f: {"old": row[f + "_a"], "new": row[f + "_b"]} for f in SNAPSHOT_FIELDS if diffs[f][i]}
        out.append({"key": row["key"], "npi": row["npi_b"], "display_name": row["display_name_b"], "fields": fields})
    return out


# --- what a run knows of the past, handed to the checks ----------------------------------------------------

@dataclass
class HistoryEvidence:
    """The store's past as the checks see it (``context.reference['history']``): the previous run's
    provider-location state, the earlier runs' dates and changes, and the narrative's stated update
    frequency. Built before the audit; the comparison with the current table is made once and cached."""
    store: str
    previous: pd.DataFrame                 # snapshot columns of the latest run's state (empty: first run)
    previous_run: dict[str, Any] | None    # id, as_of of the latest run
    timeline: pd.DataFrame                 # one row per stored run: run_id, as_of, CHANGE_COUNTS, newest_last_updated
    stated_frequency: str = ""
    _cache: dict = field(default_factory=dict, repr=False)

    def current(self, table: pd.DataFrame) -> pd.DataFrame:
        if self._cache.get("table") is not table:
            self._cache.clear()
            self._cache["table"] = table
            self._cache["snapshot"] = snapshot(table)
        return self._cache["snapshot"]

    def changes(self, table: pd.DataFrame) -> dict[str, int] | None:
        """Changes from the previous run to ``table``; None on the store's first run."""
        if self.previous_run is None:
            return None
        cur = self.current(table)
        if "changes" not in self._cache:
            self._cache["changes"] = network_changes(self.previous, cur)
        return self._cache["changes"]


def newest_date(table: pd.DataFrame) -> str | None:
    if "last_updated" not in table.columns or not table["last_updated"].notna().any():
        return None
    return pd.Timestamp(table["last_updated"].max()).date().isoformat()


def timeline_with(evidence: HistoryEvidence, table: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The stored runs' timeline plus the current run (run_id None)."""
    changes = evidence.changes(table) or {k: 0 for k in CHANGE_COUNTS}
    row = {"run_id": None, "as_of": as_of.isoformat(), **{k: changes.get(k, 0) for k in CHANGE_COUNTS},
           "newest_last_updated": newest_date(table), "first": evidence.previous_run is None}
    tl = evidence.timeline.copy()
    tl["first"] = False
    if len(tl):
        tl.loc[tl.index[0], "first"] = True
    return pd.concat([tl, pd.DataFrame([row])], ignore_index=True)


def measured_frequency(evidence: HistoryEvidence, table: pd.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """How often the directory really changes, from the runs in the store and this one.

    A run *shows an update* when, against the run before it, any provider-location was added, removed
    or changed, or any last-updated date moved (a re-verification counts as an update even when no
    other field changed). Over the observed span: the number of runs showing an update, the mean
    interval between them, and the longest quiet period (days between consecutive updates, the start
    and the end of the observed span included): the strongest evidence that an update did not happen."""
    tl = timeline_with(evidence, table, as_of)
    dates = pd.to_datetime(tl["as_of"])
    newest = tl["newest_last_updated"].fillna("")
    moved = tl[["rows_added", "rows_removed", "rows_changed", "last_updated_changed"]].sum(axis=1) > 0
    moved |= newest.ne(newest.shift()) & ~tl["first"]
    moved &= ~tl["first"]
    span = int((dates.iloc[-1] - dates.iloc[0]).days) if len(tl) else 0
    event_dates = [dates.iloc[0]] + list(dates[moved]) + [dates.iloc[-1]]
    gaps = [int((b - a).days) for a, b in zip(event_dates, event_dates[1:])]
    quiet = max(gaps) if gaps else 0
    quiet_end = event_dates[gaps.index(quiet) + 1] if gaps else dates.iloc[-1]
    updates = int(moved.sum())
    return {
        "runs_observed": int(len(tl)),
        "span_days": span,
        "runs_showing_an_update": updates,
        "mean_days_between_updates": round(span / updates, 1) if updates else None,
        "longest_quiet_days": quiet,
        "longest_quiet_from": (quiet_end - pd.Timedelta(days=quiet)).date().isoformat() if len(tl) else None,
        "longest_quiet_to": quiet_end.date().isoformat() if len(tl) else None,
        "newest_last_updated": newest_date(table),
        "stated_frequency": evidence.stated_frequency or None,
    }


# --- the store ----------------------------------------------------------------------------------------------

def store_url(target: str | os.PathLike) -> str:
    """A SQLAlchemy URL for ``--history``: a bare path is a SQLite file."""
    text = str(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def catalogue_version(catalogue: dict) -> str:
    """Hash of the check catalogue (ids, severities, factor items, messages, options): two runs with the
    same value ran the same checks the same way."""
    items = sorted((s.id, s.severity.value, s.factor, s.message, repr(sorted(s.options.items())))
                   for s in catalogue.values())
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _holder() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(), "started_at": _now()}


def manifest_text(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class SavedRun:
    run_id: int
    manifest: str
    manifest_sha256: str
    history: dict[str, Any]


class Store:
    """One history store. ``open_store`` builds it and upgrades the schema."""

    def __init__(self, url: str):
        self.url = store_url(url)
        try:
            self.engine = sa.create_engine(self.url, future=True)
        except (sa.exc.ArgumentError, ImportError, sa.exc.NoSuchModuleError) as exc:
            raise ConfigError(f"--history {url!r}: not a database URL SQLAlchemy can open ({exc}); give a "
                              "SQLite file path or a URL such as postgresql+psycopg://user@host/db.") from None
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            path = self.engine.url.database
            if not path or path == ":memory:":
                raise ConfigError(f"--history {url!r}: a SQLite store must be a file.")
            self.path = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)

            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):   # WAL: readers go on while a run writes; FKs for cascades
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()
        else:
            self.path = None
        self._lock_conn = None

    @property
    def name(self) -> str:
        return str(self.path) if self.path else self.engine.url.render_as_string(hide_password=True)

    # -- schema
    def migrate(self) -> None:
        """Upgrade the schema to the newest migration (a new store gets every one)."""
        from alembic import command
        from alembic.config import Config
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.OperationalError as exc:
            raise ConfigError(f"--history {self.name}: cannot open the store: {exc.orig}") from None

    def revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    # -- lock
    @contextlib.contextmanager
    def lock(self) -> Iterator[dict[str, Any]]:
        """Hold the store's writer lock for the block; ``StoreLocked`` when another process has it."""
        holder = _holder()
        if self.dialect == "sqlite":
            lock_path = self.path.with_name(self.path.name + ".lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    try:
                        current = json.loads(lock_path.read_text() or "{}")
                    except (OSError, ValueError):
                        current = {}
                    raise StoreLocked(self.name, current) from None
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(holder).encode(), 0)
                yield holder
            finally:
                os.close(fd)      # closing the descriptor releases the lock; the OS does so on a kill too
            return
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.text("select pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
            if not got:
                row = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == "lock_holder")).scalar()
                raise StoreLocked(self.name, json.loads(row) if row else {})
            self._put_meta(conn, "lock_holder", json.dumps(holder))
            try:
                yield holder
            finally:
                conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
        finally:
            conn.close()       # a killed process's session ends, and the server drops its lock

    def _put_meta(self, conn, key: str, value: str) -> None:
        conn.execute(sa.delete(store_meta).where(store_meta.c.key == key))
        conn.execute(sa.insert(store_meta).values(key=key, value=value))

    def _meta(self, conn, key: str) -> str | None:
        return conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == key)).scalar()

    # -- reading
    def _state(self, conn, table: sa.Table, run_id: int, columns) -> pd.DataFrame:
        t = table
        q = sa.select(*[t.c[c] for c in columns]).where(
            t.c.first_run <= run_id, sa.or_(t.c.last_run.is_(None), t.c.last_run >= run_id))
        return _frame(conn.execute(q).all(), columns=list(columns))

    def latest_run(self, conn) -> dict[str, Any] | None:
        row = conn.execute(sa.select(runs.c.id, runs.c.as_of, runs.c.manifest_sha256)
                           .order_by(runs.c.id.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def timeline(self, conn) -> pd.DataFrame:
        q = (sa.select(runs.c.id.label("run_id"), runs.c.as_of,
                       *[run_changes.c[k] for k in CHANGE_COUNTS], run_changes.c.newest_last_updated)
             .select_from(runs.outerjoin(run_changes, run_changes.c.run_id == runs.c.id)).order_by(runs.c.id))
        frame = _frame(conn.execute(q).all(), columns=["run_id", "as_of", *CHANGE_COUNTS, "newest_last_updated"])
        for k in CHANGE_COUNTS:
            frame[k] = frame[k].fillna(0).astype(int)
        return frame

    def evidence(self, stated_frequency: str = "") -> HistoryEvidence:
        with self.engine.connect() as conn:
            latest = self.latest_run(conn)
            cols = ("key", "content_hash") + SNAPSHOT_FIELDS
            prev = (_frame(conn.execute(sa.select(*[locations.c[c] for c in cols])
                                              .where(locations.c.last_run.is_(None))).all(), columns=list(cols))
                    if latest else pd.DataFrame(columns=list(cols)))
            tl = self.timeline(conn)
        return HistoryEvidence(store=self.name, previous=prev.fillna(""), previous_run=latest, timeline=tl,
                               stated_frequency=stated_frequency)

    # -- writing
    def save(self, result, evidence: HistoryEvidence, catalogue: dict, extra: dict[str, Any] | None = None,
             before_commit=None) -> SavedRun:
        """Store one audit run in one transaction, committed last. ``result`` is the AuditResult,
        ``evidence`` what ``evidence()`` returned before the audit (the caller holds the lock
        throughout, so nothing was stored in between). ``before_commit(run_id)`` runs just before the
        commit (the CLI's log line; tests pause there to kill the process mid-write)."""
        summary = result.summary
        cur = evidence.current(result.table)
        found = finding_versions(result.findings)
        started = summary.get("started_at") or _now()
        with self.engine.begin() as conn:
            latest = self.latest_run(conn)
            if (latest or {}).get("id") != (evidence.previous_run or {}).get("id"):
                raise HistoryError(f"history store {self.name} changed while the audit ran (run "
                                   f"{latest and latest['id']} was added); was the lock bypassed?")
            prev_id = latest["id"] if latest else None
            sev = summary.get("findings_by_severity", {})
            run_id = conn.execute(sa.insert(runs).values(
                started_at=started, finished_at=_now(), as_of=summary["settings"]["as_of"],
                source=str(summary.get("source")), format=summary.get("format"),
                settings=json.dumps(summary.get("settings"), sort_keys=True, default=str),
                tool_version=summary.get("tool_version", ""), catalogue_version=catalogue_version(catalogue),
                input_checksum=summary.get("input_checksum"), duration_seconds=summary.get("duration_seconds"),
                rows_audited=int(summary.get("rows_audited", 0)), providers_audited=summary.get("providers_audited"),
                findings_total=int(summary.get("findings_total", 0)), errors=sev.get("error", 0),
                warnings=sev.get("warning", 0), info=sev.get("info", 0), snapshot_digest="", findings_digest="",
                manifest="", manifest_sha256="")).inserted_primary_key[0]

            loc_opened, loc_closed = self._roll(conn, locations, "key", cur, ("key", "content_hash") + SNAPSHOT_FIELDS,
                                                prev_id, run_id)
            f_opened, f_closed = self._roll(conn, findings, "fingerprint", found,
                                            ("fingerprint", "content_hash") + FINDING_FIELDS, prev_id, run_id)
            snap_digest, find_digest = digest(cur["content_hash"]), digest(found["content_hash"])

            item_rows, metric_rows = [], []
            for item, entry in (summary.get("factor_items") or {}).items():
                s = entry.get("findings_by_severity") or {}
                item_rows.append({"run_id": run_id, "factor_item": item, "errors": int(s.get("error", 0)),
                                  "warnings": int(s.get("warning", 0)), "info": int(s.get("info", 0))})
                for mid, m in (entry.get("metrics") or {}).items():
                    value = (m or {}).get("value")
                    pairs = value.items() if isinstance(value, dict) else [("value", value)]
                    for name, v in pairs:
                        if isinstance(v, (int, float)) and not isinstance(v, bool):
                            metric_rows.append({"run_id": run_id, "metric": mid, "name": str(name)[:80],
                                                "factor_item": item, "value": float(v)})
            if item_rows:
                conn.execute(sa.insert(run_items), item_rows)
            if metric_rows:
                conn.execute(sa.insert(run_metrics), metric_rows)
            changes = dict(evidence.changes(result.table) or {k: 0 for k in CHANGE_COUNTS if not k.startswith("findings")})
            changes["findings_new"] = len(f_opened) if prev_id else 0
            changes["findings_resolved"] = len(f_closed) if prev_id else 0
            # content changes close and reopen a finding version; count only fingerprints that appear or go
            if prev_id:
                changes["findings_new"] = len(set(f_opened) - set(f_closed))
                changes["findings_resolved"] = len(set(f_closed) - set(f_opened))
            dates = result.table["last_updated"] if "last_updated" in result.table.columns else pd.Series(dtype="datetime64[ns]")
            conn.execute(sa.insert(run_changes).values(
                run_id=run_id, previous_run_id=prev_id, **{k: int(changes.get(k, 0)) for k in CHANGE_COUNTS},
                newest_last_updated=newest_date(result.table), distinct_last_updated=int(dates.nunique())))

            prev_sha = latest["manifest_sha256"] if latest else self._meta(conn, "pruned_manifest_sha256")
            manifest = {
                "manifest_version": MANIFEST_VERSION,
                "run_id": int(run_id),
                "previous_run_id": prev_id,
                "previous_manifest_sha256": prev_sha,
                "started_at": started,
                "as_of": summary["settings"]["as_of"],
                "source": str(summary.get("source")),
                "sources_read": [str(s) for s in summary.get("sources_read", [])],
                "format": summary.get("format"),
                "input_checksum": summary.get("input_checksum"),
                "settings": summary.get("settings"),
                "tool": {"name": summary.get("tool", "directory-audit"), "version": summary.get("tool_version")},
                "check_catalogue": {"version": catalogue_version(catalogue), "checks": len(catalogue)},
                "rows_audited": int(summary.get("rows_audited", 0)),
                "findings_total": int(summary.get("findings_total", 0)),
                "provider_locations": {"versions": int(len(cur)), "digest": snap_digest},
                "findings": {"versions": int(len(found)), "digest": find_digest},
                **(extra or {}),
            }
            text = manifest_text(manifest)
            digest_sha = sha256(text)
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
                snapshot_digest=snap_digest, findings_digest=find_digest, manifest=text, manifest_sha256=digest_sha,
                previous_manifest_sha256=prev_sha))
            history_view = self.report_view(conn, run_id, evidence, result.table)
            if before_commit is not None:
                before_commit(run_id)
        return SavedRun(run_id=int(run_id), manifest=text, manifest_sha256=digest_sha, history=history_view)

    def _roll(self, conn, table: sa.Table, key: str, new: pd.DataFrame, columns, prev_id, run_id):
        """Close the current versions that are gone or changed (last_run = the previous run) and open
        the new ones (first_run = this run). Returns the keys opened and closed."""
        if prev_id is not None:
            cur = _frame(conn.execute(sa.select(table.c.id, table.c[key], table.c.content_hash)
                                            .where(table.c.last_run.is_(None))).all(), columns=["id", key, "content_hash"])
        else:
            cur = pd.DataFrame(columns=["id", key, "content_hash"])
        # a content hash covers the key too, so equal hashes are the same version: compare integers
        cur_hash = cur["content_hash"].to_numpy(dtype=np.int64)
        new_hash = new["content_hash"].to_numpy(dtype=np.int64)
        close = cur[~np.isin(cur_hash, new_hash)]
        opened = new[~np.isin(new_hash, cur_hash)]
        ids = [int(i) for i in close["id"]]
        for start in range(0, len(ids), 500):
            conn.execute(sa.update(table).where(table.c.id.in_(ids[start:start + 500])).values(last_run=prev_id))
        if len(opened):
            rows = opened[list(columns)].assign(first_run=run_id, last_run=None).to_dict(orient="records")
            conn.execute(sa.insert(table), rows)
        return list(opened[key]), list(close[key])

    # -- views
    def report_view(self, conn, run_id: int, evidence: HistoryEvidence | None = None, table=None,
                    trend_runs: int = 60) -> dict[str, Any]:
        """What the report shows of the history: changes since the previous run and the trend of
        findings and key metrics per factor item over the last ``trend_runs`` runs."""
        view: dict[str, Any] = {"store": self.name, "run_id": int(run_id), "changes": None, "trend": None}
        prev = conn.execute(sa.select(runs.c.id).where(runs.c.id < run_id).order_by(runs.c.id.desc()).limit(1)).scalar()
        if prev is not None:
            view["changes"] = self._diff(conn, prev, run_id, limit=20)
        ids = [r for (r,) in conn.execute(sa.select(runs.c.id).where(runs.c.id <= run_id)
                                          .order_by(runs.c.id.desc()).limit(trend_runs)).all()][::-1]
        meta = {r.id: r.as_of for r in conn.execute(sa.select(runs.c.id, runs.c.as_of).where(runs.c.id.in_(ids)))}
        items = _frame(conn.execute(sa.select(run_items).where(run_items.c.run_id.in_(ids))).all(),
                             columns=["run_id", "factor_item", "errors", "warnings", "info"])
        wanted = [(m, n) for _, m, n, _ in KEY_METRICS]
        mets = _frame(conn.execute(sa.select(run_metrics.c.run_id, run_metrics.c.metric, run_metrics.c.name,
                                                   run_metrics.c.value)
                                         .where(run_metrics.c.run_id.in_(ids),
                                                run_metrics.c.metric.in_([m for m, _ in wanted]))).all(),
                            columns=["run_id", "metric", "name", "value"])
        trend: dict[str, Any] = {"runs": [{"run_id": i, "as_of": meta[i]} for i in ids], "findings": {}, "metrics": []}
        for item, group in items.groupby("factor_item", sort=True):
            g = group.set_index("run_id").reindex(ids)
            trend["findings"][item] = {"errors": [None if pd.isna(v) else int(v) for v in g["errors"]],
                                       "warnings": [None if pd.isna(v) else int(v) for v in g["warnings"]]}
        for item, mid, name, label in KEY_METRICS:
            sel = mets[(mets["metric"] == mid) & (mets["name"] == name)].set_index("run_id")["value"].reindex(ids)
            if sel.notna().any():
                trend["metrics"].append({"factor_item": item, "metric": mid, "name": name, "label": f"{item} {label}",
                                         "values": [None if pd.isna(v) else float(v) for v in sel]})
        view["trend"] = trend
        return view

    def runs(self) -> list[dict[str, Any]]:
        q = (sa.select(runs.c.id, runs.c.started_at, runs.c.as_of, runs.c.source, runs.c.format, runs.c.tool_version,
                       runs.c.catalogue_version, runs.c.input_checksum, runs.c.duration_seconds, runs.c.rows_audited,
                       runs.c.providers_audited, runs.c.findings_total, runs.c.errors, runs.c.warnings, runs.c.info,
                       runs.c.manifest_sha256, *[run_changes.c[k] for k in CHANGE_COUNTS])
             .select_from(runs.outerjoin(run_changes, run_changes.c.run_id == runs.c.id)).order_by(runs.c.id))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def diff(self, run_a: int | None = None, run_b: int | None = None, limit: int | None = None) -> dict[str, Any]:
        """Provider-locations added, removed and changed (fields, old and new values) and findings new
        and resolved between two runs; by default the last two."""
        with self.engine.connect() as conn:
            if run_a is None and run_b is None:
                ids = [r for (r,) in conn.execute(sa.select(runs.c.id).order_by(runs.c.id.desc()).limit(2))]
                if len(ids) < 2:
                    raise HistoryError(f"history store {self.name} holds {len(ids)} run(s); a diff needs two.")
                run_b, run_a = ids
            elif run_a is None or run_b is None:
                raise HistoryError("give both RUN_A and RUN_B, or neither (the last two runs).")
            known = {r for (r,) in conn.execute(sa.select(runs.c.id).where(runs.c.id.in_([run_a, run_b])))}
            for r in (run_a, run_b):
                if r not in known:
                    raise HistoryError(f"history store {self.name} has no run {r}; "
                                       f"`directory-audit history --history ...` lists the runs.")
            return self._diff(conn, run_a, run_b, limit)

    def _diff(self, conn, a: int, b: int, limit: int | None) -> dict[str, Any]:
        lo, hi = min(a, b), max(a, b)
        cols = ("key", "content_hash") + SNAPSHOT_FIELDS
        only_lo, only_hi = self._only(conn, locations, cols, lo, hi)
        fcols = ("fingerprint", "content_hash") + FINDING_FIELDS
        f_lo, f_hi = self._only(conn, findings, fcols, lo, hi)
        if a > b:      # asked newest first: the diff reads from a to b
            only_lo, only_hi, f_lo, f_hi = only_hi, only_lo, f_hi, f_lo
        added = only_hi[~only_hi["key"].isin(only_lo["key"])].sort_values("key")
        removed = only_lo[~only_lo["key"].isin(only_hi["key"])].sort_values("key")
        same_key = only_lo[only_lo["key"].isin(only_hi["key"])]
        changed = changed_fields(same_key, only_hi[only_hi["key"].isin(only_lo["key"])])
        new = f_hi[~f_hi["fingerprint"].isin(f_lo["fingerprint"])].sort_values(["check_id", "fingerprint"])
        resolved = f_lo[~f_lo["fingerprint"].isin(f_hi["fingerprint"])].sort_values(["check_id", "fingerprint"])
        meta = {r.id: dict(r._mapping) for r in conn.execute(sa.select(runs.c.id, runs.c.as_of, runs.c.started_at,
                                                                       runs.c.source).where(runs.c.id.in_([a, b])))}

        def rows(frame: pd.DataFrame, columns) -> list[dict[str, str]]:
            frame = frame.head(limit) if limit is not None else frame
            return frame[list(columns)].to_dict(orient="records")
        loc_cols = ("key",) + SNAPSHOT_FIELDS
        f_cols = ("check_id", "severity", "factor_item", "record_id", "npi", "provider_name", "field", "observed", "message")
        return {
            "run_a": meta[a], "run_b": meta[b],
            "counts": {"added": int(len(added)), "removed": int(len(removed)), "changed": len(changed),
                       "findings_new": int(len(new)), "findings_resolved": int(len(resolved))},
            "added": rows(added, loc_cols), "removed": rows(removed, loc_cols),
            "changed": changed[:limit] if limit is not None else changed,
            "findings": {"new": rows(new, f_cols), "resolved": rows(resolved, f_cols)},
            "limit": limit,
        }

    def _only(self, conn, table: sa.Table, columns, lo: int, hi: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Versions valid at run ``lo`` but not at ``hi``, and the reverse (lo < hi): the only rows a
        diff must read; both are found through the first_run / last_run indexes."""
        t = table
        sel = [t.c[c] for c in columns]
        gone = conn.execute(sa.select(*sel).where(t.c.last_run >= lo, t.c.last_run < hi, t.c.first_run <= lo)).all()
        came = conn.execute(sa.select(*sel).where(t.c.first_run > lo, t.c.first_run <= hi,
                                                  sa.or_(t.c.last_run.is_(None), t.c.last_run >= hi))).all()
        a = _frame(gone, columns).fillna("")
        b = _frame(came, columns).fillna("")
        if lo == hi:
            return a.iloc[0:0], b.iloc[0:0]
        # a version closed and an equal one reopened later (a change undone) is no difference
        key = columns[0]
        same = a.merge(b, on=[key, "content_hash"])[key]
        return a[~a[key].isin(same)], b[~b[key].isin(same)]

    # -- retention
    def prune(self, keep: int) -> int:
        """Delete all but the newest ``keep`` runs and the versions only they used. The chain stays
        verifiable: the last deleted run's manifest hash is kept as the start of the chain."""
        if keep < 1:
            raise ConfigError(f"--keep: found {keep}, expected at least 1 run to keep.")
        with self.engine.begin() as conn:
            ids = [r for (r,) in conn.execute(sa.select(runs.c.id).order_by(runs.c.id.desc()))]
            if len(ids) <= keep:
                return 0
            oldest_kept = ids[keep - 1]
            last_gone = ids[keep]
            sha = conn.execute(sa.select(runs.c.manifest_sha256).where(runs.c.id == last_gone)).scalar()
            for t in (locations, findings):
                conn.execute(sa.delete(t).where(t.c.last_run.is_not(None), t.c.last_run < oldest_kept))
            for t in (run_items, run_metrics, run_changes):
                conn.execute(sa.delete(t).where(t.c.run_id < oldest_kept))
            conn.execute(sa.delete(runs).where(runs.c.id < oldest_kept))
            self._put_meta(conn, "pruned_manifest_sha256", sha)
            self._put_meta(conn, "pruned_through_run", str(last_gone))
            return len(ids) - keep

    # -- verification
    def verify(self, manifests: list[Path] = ()) -> dict[str, Any]:
        """Check the chain: each manifest's SHA-256, its link to the previous run's, that the stored
        versions' content hashes match their values, and that each run's state digests match its
        manifest. ``manifests``: manifest.json files from run folders, each compared with the store."""
        problems: list[str] = []
        checked = 0
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs.c.id, runs.c.manifest, runs.c.manifest_sha256,
                                          runs.c.previous_manifest_sha256, runs.c.input_checksum, runs.c.as_of,
                                          runs.c.snapshot_digest, runs.c.findings_digest).order_by(runs.c.id)).all()
            expected_prev = self._meta(conn, "pruned_manifest_sha256")
            by_run = {}
            for spec in ((locations, LOCATION_HASHED, "provider_locations"), (findings, FINDING_HASHED, "findings")):
                table, fields, label = spec
                cols = ("first_run", "last_run", "content_hash") + fields
                frame = _frame(conn.execute(sa.select(*[table.c[c] for c in cols])).all(), columns=list(cols))
                text = _text_columns(frame, fields)
                recomputed = signed(row_hashes(text, fields))
                bad = frame["content_hash"].to_numpy(dtype=np.int64) != recomputed
                if bad.any():
                    problems.append(f"{label}: {int(bad.sum())} stored version(s) do not match their content hash "
                                    f"(first: {frame.loc[bad, fields[0]].iloc[0]!r}, run {frame.loc[bad, 'first_run'].iloc[0]})")
                by_run[label] = self._digests(frame, [r.id for r in rows])
        for r in rows:
            checked += 1
            if sha256(r.manifest) != r.manifest_sha256:
                problems.append(f"run {r.id}: manifest does not match its SHA-256 (the manifest was edited)")
            try:
                m = json.loads(r.manifest)
            except ValueError:
                problems.append(f"run {r.id}: manifest is not JSON")
                continue
            if m.get("previous_manifest_sha256") != expected_prev or r.previous_manifest_sha256 != expected_prev:
                problems.append(f"run {r.id}: previous manifest hash {m.get('previous_manifest_sha256')} does not "
                                f"match the previous run's {expected_prev} (the chain is broken)")
            if m.get("run_id") != r.id or m.get("input_checksum") != r.input_checksum or m.get("as_of") != r.as_of:
                problems.append(f"run {r.id}: manifest run id, input checksum or as-of differs from the run record")
            for label, stored in (("provider_locations", r.snapshot_digest), ("findings", r.findings_digest)):
                got = by_run[label].get(r.id)
                if (m.get(label) or {}).get("digest") != got or stored != got:
                    problems.append(f"run {r.id}: {label.replace('_', '-')} digest {got} differs from the manifest's "
                                    f"{(m.get(label) or {}).get('digest')} (stored rows were changed)")
            expected_prev = r.manifest_sha256
        by_sha = {r.manifest_sha256: r.id for r in rows}
        for path in manifests:
            text = Path(path).read_text(encoding="utf-8")
            if sha256(text) not in by_sha:
                problems.append(f"{path}: this manifest is not in the store (SHA-256 {sha256(text)[:16]}…): "
                                f"it was edited, or belongs to another store")
        return {"store": self.name, "runs_checked": checked, "ok": not problems, "problems": problems,
                "head_manifest_sha256": rows[-1].manifest_sha256 if rows else None}

    @staticmethod
    def _digests(frame: pd.DataFrame, run_ids: list[int]) -> dict[int, str]:
        """Each run's state digest, walked forward: add the versions opened at a run, drop the ones
        closed just before it. One pass over the versions, not one state query per run."""
        if not run_ids:
            return {}
        ints = frame["content_hash"].to_numpy(dtype=np.int64).view(np.uint64)
        first = frame["first_run"].to_numpy(dtype=np.int64)
        last = frame["last_run"].astype("float64").fillna(np.inf).to_numpy()
        out = {}
        with np.errstate(over="ignore"):
            start = run_ids[0]
            total = ints[(first <= start) & (last >= start)].sum(dtype=np.uint64)
            out[start] = f"{int(total):016x}"
            prev = start
            for r in run_ids[1:]:
                total = total + ints[(first > prev) & (first <= r)].sum(dtype=np.uint64) \
                    - ints[(last >= prev) & (last < r)].sum(dtype=np.uint64)
                out[r] = f"{int(total):016x}"
                prev = r
        return out


def open_store(target: str | os.PathLike) -> Store:
    """The store at ``--history`` TARGET, created or upgraded to the current schema."""
    store = Store(str(target))
    store.migrate()
    return store


def stated_frequency(settings) -> str:
    """The update frequency the insurer's narrative states (T1.ii), or ''."""
    if getattr(settings, "narrative_file", None) is None:
        return ""
    from .narrative import load_narrative
    return load_narrative(settings.narrative_file).answer("T1.ii", "update_frequency")
