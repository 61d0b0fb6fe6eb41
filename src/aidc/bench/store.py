"""The results store: one SQLite file (standard library) holding runs and measurements.

Schema (version 1)::

    aidc_meta(key PRIMARY KEY, value)             -- marks the file as an aidc results store
    runs(run_id PRIMARY KEY, started_at, finished_at, command, aidc_version,
         fingerprint_id, device_id, fingerprint_json, libraries_json, settings_json)
    measurements(id INTEGER PRIMARY KEY, run_id -> runs, created_at, kind, phase,
         model, engine, precision, device_id, batch, seq_len, gen_len, threads,
         n_warmup, n_runs, latency_p50_s, latency_p99_s, latency_mean_s, latency_min_s,
         throughput_per_s, throughput_unit, peak_memory_bytes, extra_json)

Safety:

* **Concurrent runs**: the database is in WAL mode with a busy timeout, so two
  processes appending at once are serialised by SQLite's own locking; neither corrupts
  the file (``tests/test_bench_store.py`` runs two writers).
* **Interrupted runs**: each measurement is committed on its own, so a run that is
  killed keeps everything it finished; its ``finished_at`` stays empty.
* **User files**: :func:`open_store` refuses a path that exists and is not an aidc
  results store; it never truncates or overwrites one.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aidc.errors import AidcInputError

SCHEMA_VERSION = "1"
MAGIC = "aidc-bench-results"
BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS aidc_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    command TEXT NOT NULL,
    aidc_version TEXT,
    fingerprint_id TEXT,
    device_id TEXT,
    fingerprint_json TEXT NOT NULL,
    libraries_json TEXT NOT NULL,
    settings_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    phase TEXT NOT NULL,
    model TEXT,
    engine TEXT,
    precision TEXT,
    device_id TEXT,
    batch INTEGER,
    seq_len INTEGER,
    gen_len INTEGER,
    threads INTEGER,
    n_warmup INTEGER,
    n_runs INTEGER,
    latency_p50_s REAL,
    latency_p99_s REAL,
    latency_mean_s REAL,
    latency_min_s REAL,
    throughput_per_s REAL,
    throughput_unit TEXT,
    peak_memory_bytes REAL,
    extra_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS measurements_by_kind ON measurements(kind, phase, model);
"""

MEASUREMENT_COLUMNS = (
    "kind",
    "phase",
    "model",
    "engine",
    "precision",
    "device_id",
    "batch",
    "seq_len",
    "gen_len",
    "threads",
    "n_warmup",
    "n_runs",
    "latency_p50_s",
    "latency_p99_s",
    "latency_mean_s",
    "latency_min_s",
    "throughput_per_s",
    "throughput_unit",
    "peak_memory_bytes",
)

EXPORT_COLUMNS = (
    "id",
    "run_id",
    "created_at",
    *MEASUREMENT_COLUMNS,
    "extra_json",
    "started_at",
    "finished_at",
    "command",
    "fingerprint_id",
    "libraries_json",
    "settings_json",
)


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/aidc/bench.sqlite`` (``~/.local/share/aidc/bench.sqlite``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aidc" / "bench.sqlite"


def utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


def _is_aidc_store(conn: sqlite3.Connection) -> bool:
    try:
        row = conn.execute("SELECT value FROM aidc_meta WHERE key = 'magic'").fetchone()
    except sqlite3.DatabaseError:
        return False
    return row is not None and row[0] == MAGIC


@contextmanager
def _creation_lock(p: Path) -> Iterator[None]:
    """Serialise opening and creating the store across processes (``<db>.lock``, flock).

    Switching a new file to WAL and writing its schema take an exclusive lock that SQLite's
    busy timeout does not always wait for, and a second process could otherwise see the
    file before its marker row exists; appends after that are safe without this lock."""
    try:
        import fcntl
    except ImportError:  # not POSIX: rely on SQLite's own locking
        yield
        return
    with open(p.with_name(p.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def open_store(path: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and, if new, create) a results store; refuse files that are not one."""
    p = Path(path).expanduser()
    if p.exists() and p.is_dir():
        raise AidcInputError(f"--db {p}: is a directory; give a file name")
    if not (p.exists() and p.stat().st_size > 0) and not create:
        raise AidcInputError(f"--db {p}: no results store there; run `aidc bench ...` first")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AidcInputError(f"--db {p}: cannot create ({err})") from None
    with _creation_lock(p):
        return _open_locked(p)


def _open_locked(p: Path) -> sqlite3.Connection:
    if p.exists() and p.stat().st_size > 0:
        try:
            conn = _connect(p)
            ok = _is_aidc_store(conn)
        except sqlite3.DatabaseError:
            ok = False
        if not ok:
            raise AidcInputError(
                f"--db {p}: exists and is not an aidc results store; "
                "choose another file (aidc never overwrites it)"
            )
        conn.execute("PRAGMA journal_mode = WAL")
        return conn
    try:
        conn = _connect(p)
    except (OSError, sqlite3.OperationalError) as err:
        raise AidcInputError(f"--db {p}: cannot create ({err})") from None
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(_SCHEMA)
    conn.execute(
        "INSERT OR IGNORE INTO aidc_meta(key, value) VALUES ('magic', ?), ('schema_version', ?)",
        (MAGIC, SCHEMA_VERSION),
    )
    return conn


@dataclass
class Run:
    """One invocation of a bench command; measurements are appended one commit each."""

    conn: sqlite3.Connection
    run_id: str
    device_id: str
    settings: dict[str, Any] = field(default_factory=dict)
    n_recorded: int = 0

    def record(self, values: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> int:
        """Append one measurement and commit it (so an interruption keeps it)."""
        unknown = set(values) - set(MEASUREMENT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown measurement columns: {sorted(unknown)}")
        row = {c: values.get(c) for c in MEASUREMENT_COLUMNS}
        if row["device_id"] is None:
            row["device_id"] = self.device_id
        cols = ["run_id", "created_at", *MEASUREMENT_COLUMNS, "extra_json"]
        params = [
            self.run_id,
            utc_now(),
            *row.values(),
            json.dumps(dict(extra or {}), sort_keys=True, default=str),
        ]
        with self.conn:  # BEGIN ... COMMIT
            self.conn.execute("BEGIN IMMEDIATE")
            cur = self.conn.execute(
                f"INSERT INTO measurements({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                params,
            )
        self.n_recorded += 1
        return int(cur.lastrowid or 0)

    def finish(self) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "UPDATE runs SET finished_at = ? WHERE run_id = ?", (utc_now(), self.run_id)
            )


def start_run(
    conn: sqlite3.Connection,
    *,
    command: str,
    fingerprint: Mapping[str, Any],
    libraries: Mapping[str, Any],
    settings: Mapping[str, Any],
    device_id: str,
) -> Run:
    run_id = uuid.uuid4().hex
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO runs(run_id, started_at, command, aidc_version, fingerprint_id, "
            "device_id, fingerprint_json, libraries_json, settings_json) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                utc_now(),
                command,
                libraries.get("aidc"),
                fingerprint.get("fingerprint_id"),
                device_id,
                json.dumps(dict(fingerprint), sort_keys=True, default=str),
                json.dumps(dict(libraries), sort_keys=True, default=str),
                json.dumps(dict(settings), sort_keys=True, default=str),
            ),
        )
    return Run(conn=conn, run_id=run_id, device_id=device_id, settings=dict(settings))


def measurements(
    conn: sqlite3.Connection, *, kind: str | None = None, phase: str | None = None
) -> list[dict[str, Any]]:
    """Measurements joined with their run, oldest first; ``extra`` decoded."""
    sql = (
        "SELECT m.*, r.started_at, r.finished_at, r.command, r.fingerprint_id, "
        "r.libraries_json, r.settings_json FROM measurements m JOIN runs r USING (run_id)"
    )
    where, args = [], []
    if kind:
        where.append("m.kind = ?")
        args.append(kind)
    if phase:
        where.append("m.phase = ?")
        args.append(phase)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY m.id"
    out = []
    for r in conn.execute(sql, args):
        d = dict(r)
        d["extra"] = json.loads(d.get("extra_json") or "{}")
        out.append(d)
    return out


def runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM runs ORDER BY started_at").fetchall()
    out = []
    for r in rows:
        d = dict(r)
        for k in ("fingerprint_json", "libraries_json", "settings_json"):
            d[k.removesuffix("_json")] = json.loads(d.pop(k) or "{}")
        out.append(d)
    return out


def _export_rows(conn: sqlite3.Connection) -> Iterator[tuple[Any, ...]]:
    sql = (
        f"SELECT {', '.join('m.' + c if c not in EXPORT_COLUMNS[-6:] else 'r.' + c for c in EXPORT_COLUMNS)} "
        "FROM measurements m JOIN runs r USING (run_id) ORDER BY m.id"
    )
    yield from conn.execute(sql)


def export(conn: sqlite3.Connection, out: Path, *, force: bool) -> int:
    """Write every measurement (joined with its run) to ``out``: ``.csv`` or ``.parquet``."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise AidcInputError(f"--out {out}: the file name must end in .csv or .parquet")
    if out.exists() and not force:
        raise AidcInputError(f"--out {out}: exists; pass --force to overwrite it")
    rows = list(_export_rows(conn))
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".csv":
            with tmp.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(EXPORT_COLUMNS)
                w.writerows(rows)
        else:
            _write_parquet(tmp, rows)
        tmp.replace(out)
    except OSError as err:
        raise AidcInputError(f"--out {out}: cannot write ({err.strerror})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return len(rows)


def _write_parquet(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """Parquet through DuckDB (in the bench extra)."""
    from aidc.bench import require

    duckdb = require("duckdb")
    types = {
        c: (
            "DOUBLE"
            if c.endswith(("_s", "_per_s", "_bytes"))
            else "BIGINT"
            if c in {"id", "batch", "seq_len", "gen_len", "threads", "n_warmup", "n_runs"}
            else "VARCHAR"
        )
        for c in EXPORT_COLUMNS
    }
    with closing(duckdb.connect()) as db:
        db.execute("CREATE TABLE m (" + ", ".join(f'"{c}" {t}' for c, t in types.items()) + ")")
        if rows:
            db.executemany(f"INSERT INTO m VALUES ({', '.join('?' * len(EXPORT_COLUMNS))})", rows)
        db.execute(f"COPY m TO '{path.as_posix()}' (FORMAT PARQUET)")
