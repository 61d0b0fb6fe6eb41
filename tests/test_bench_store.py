"""The results store: round trip, export, refusing foreign files, concurrency, interruption."""

from __future__ import annotations

import csv
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from aidc.bench.store import export, measurements, open_store, runs, start_run
from aidc.errors import AidcInputError

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run(conn, command="test"):
    return start_run(
        conn,
        command=command,
        fingerprint={"fingerprint_id": "abc", "cpu_model": "test"},
        libraries={"aidc": "0"},
        settings={"threads": 1},
        device_id="cpu-test-1t",
    )


def _point(i: int) -> dict:
    return {
        "kind": "inference",
        "phase": "forward",
        "model": "m",
        "engine": "e",
        "precision": "fp32",
        "batch": i,
        "seq_len": 8,
        "latency_p50_s": 0.001 * (i + 1),
    }


def test_round_trip_and_csv_export(tmp_path: Path):
    conn = open_store(tmp_path / "r.sqlite")
    run = _run(conn)
    for i in range(3):
        run.record(_point(i), {"note": i})
    run.finish()
    rows = measurements(conn, kind="inference")
    assert [r["batch"] for r in rows] == [0, 1, 2]
    assert rows[1]["extra"] == {"note": 1}
    assert rows[0]["device_id"] == "cpu-test-1t"
    assert runs(conn)[0]["finished_at"] is not None
    out = tmp_path / "x.csv"
    assert export(conn, out, force=False) == 3
    with out.open() as f:
        got = list(csv.DictReader(f))
    assert [int(r["batch"]) for r in got] == [0, 1, 2]
    assert got[0]["command"] == "test"
    with pytest.raises(AidcInputError, match="--force"):
        export(conn, out, force=False)
    assert export(conn, out, force=True) == 3
    with pytest.raises(AidcInputError, match=r"\.csv or \.parquet"):
        export(conn, tmp_path / "x.txt", force=False)


def test_parquet_export(tmp_path: Path):
    duckdb = pytest.importorskip("duckdb")
    conn = open_store(tmp_path / "r.sqlite")
    run = _run(conn)
    run.record(_point(4))
    out = tmp_path / "x.parquet"
    assert export(conn, out, force=False) == 1
    got = duckdb.sql(f"SELECT batch, latency_p50_s FROM '{out}'").fetchall()
    assert got == [(4, 0.005)]


def test_refuses_files_that_are_not_a_store(tmp_path: Path):
    text = tmp_path / "notes.sqlite"
    text.write_text("my notes")
    with pytest.raises(AidcInputError, match="not an aidc results store"):
        open_store(text)
    assert text.read_text() == "my notes"
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(AidcInputError, match="not an aidc results store"):
        open_store(other)
    with sqlite3.connect(other) as c:
        assert c.execute("SELECT x FROM t").fetchall() == [(1,)]
    with pytest.raises(AidcInputError, match="no results store"):
        open_store(tmp_path / "missing.sqlite", create=False)


WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {src!r})
    from aidc.bench.store import open_store, start_run
    conn = open_store(sys.argv[1])
    run = start_run(conn, command="w", fingerprint={{}}, libraries={{}}, settings={{}},
                    device_id="cpu-test-1t")
    n, pause = int(sys.argv[2]), float(sys.argv[3])
    for i in range(n):
        run.record({{"kind": "inference", "phase": "forward", "batch": i}})
        time.sleep(pause)
    if pause < 1:
        run.finish()
    """
)


def _writer(tmp_path: Path, db: Path, n: int, pause: float) -> subprocess.Popen:
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(src=SRC))
    return subprocess.Popen([sys.executable, str(script), str(db), str(n), str(pause)])


def test_two_processes_append_without_corruption(tmp_path: Path):
    db = tmp_path / "shared.sqlite"
    procs = [_writer(tmp_path, db, 60, 0.0) for _ in range(2)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    conn = open_store(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0] == 120
    assert len(runs(conn)) == 2
    assert all(r["finished_at"] for r in runs(conn))


def test_interrupted_run_keeps_finished_measurements(tmp_path: Path):
    db = tmp_path / "killed.sqlite"
    proc = _writer(tmp_path, db, 1000, 0.02)
    deadline = time.time() + 30
    n = 0
    while time.time() < deadline:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as c:
                    n = c.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
            except sqlite3.OperationalError:
                n = 0
        if n >= 5:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert n >= 5
    conn = open_store(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
    assert n <= kept < 1000
    (run,) = runs(conn)
    assert run["finished_at"] is None
