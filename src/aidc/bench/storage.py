"""Sequential write and read throughput of a directory, for checkpoint planning.

The probe writes one file of ``size_bytes`` in ``block_bytes`` blocks and ``fsync``s it
(the write time includes the flush to the device, as a checkpoint's does), then asks
the kernel to drop the file's now-clean pages from the page cache
(``posix_fadvise(POSIX_FADV_DONTNEED)``) and reads it back. Where the drop is refused
or has no effect (some file systems, network mounts) the read may come from memory; the
result says which. The file is removed afterwards, also when interrupted. Size and time
are bounded: writing stops at ``max_seconds`` and the figure is for the bytes written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aidc.errors import AidcInputError
from aidc.units import MiB


@dataclass(frozen=True)
class StorageResult:
    path: str
    bytes_written: int
    write_s: float
    read_s: float
    block_bytes: int
    page_cache_dropped: bool
    truncated_by_time: bool

    @property
    def write_bytes_per_s(self) -> float:
        return self.bytes_written / self.write_s

    @property
    def read_bytes_per_s(self) -> float:
        return self.bytes_written / self.read_s


def _drop_cache(fd: int) -> bool:
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    except (AttributeError, OSError):
        return False
    return True


def probe_directory(
    directory: str | Path,
    *,
    size_bytes: int = 512 * MiB,
    block_bytes: int = 4 * MiB,
    max_seconds: float = 30.0,
) -> StorageResult:
    d = Path(directory).expanduser()
    if not d.is_dir():
        raise AidcInputError(f"{d}: not a directory", field="--dir")
    free = shutil.disk_usage(d).free
    if free < 2 * size_bytes:
        raise AidcInputError(
            f"{d}: {free / MiB:.0f} MiB free, the probe needs twice --size-mib "
            f"({2 * size_bytes / MiB:.0f} MiB); choose a smaller size",
            field="--size-mib",
        )
    block = os.urandom(block_bytes)  # incompressible, so compressing file systems can't cheat
    fd_tmp, name = tempfile.mkstemp(prefix=".aidc-storage-probe-", dir=d)
    path = Path(name)
    try:
        written = 0
        truncated = False
        t0 = time.perf_counter()
        while written < size_bytes:
            n = os.write(fd_tmp, block[: min(block_bytes, size_bytes - written)])
            written += n
            if time.perf_counter() - t0 > max_seconds:
                truncated = True
                break
        os.fsync(fd_tmp)
        write_s = time.perf_counter() - t0
        dropped = _drop_cache(fd_tmp)
        os.close(fd_tmp)
        fd_tmp = -1
        fd = os.open(path, os.O_RDONLY)
        try:
            t0 = time.perf_counter()
            read = 0
            while True:
                chunk = os.read(fd, block_bytes)
                if not chunk:
                    break
                read += len(chunk)
            read_s = time.perf_counter() - t0
        finally:
            os.close(fd)
        return StorageResult(
            path=str(d),
            bytes_written=written,
            write_s=write_s,
            read_s=read_s,
            block_bytes=block_bytes,
            page_cache_dropped=dropped,
            truncated_by_time=truncated,
        )
    finally:
        if fd_tmp >= 0:
            os.close(fd_tmp)
        path.unlink(missing_ok=True)
