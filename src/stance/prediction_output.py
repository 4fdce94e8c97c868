"""``stance predict --output FILE``: never a half-written FILE, never a silent overwrite, and
``--resume`` to continue an interrupted run.

Results go to ``FILE.partial`` as they are computed (flushed and synced every chunk), and
``FILE.partial`` is renamed to ``FILE`` when the run completes: ``FILE`` is always absent, the
previous complete file, or the new complete file. An interrupted run leaves ``FILE.partial``;
``--resume`` reads the inputs already there (keyed by file, line and character offsets), drops a
torn last row, and appends the rest. Without ``--resume``, an existing ``FILE`` or ``FILE.partial``
is refused unless ``--overwrite`` is given. ``FILE.partial`` is ``flock``-ed while written: a second
process writing the same FILE is refused.
"""
from __future__ import annotations

import csv
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import IO

from .atomic import LockedError, replace_file

__all__ = ["OutputError", "PredictionOutput", "Terminated", "item_key", "stop_on_sigterm"]

PARTIAL = ".partial"


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an exception so that a run stops like Ctrl-C (rows kept, exit 143)."""


def _raise_terminated(signum, frame):
    raise Terminated


def stop_on_sigterm() -> None:
    """Let SIGTERM unwind like Ctrl-C (main thread only)."""
    import signal

    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:
        pass


class OutputError(ValueError):
    """The output file cannot be (re)written as asked."""


def item_key(file, line, start, end, text: str = "") -> tuple[str, ...]:
    """What identifies one input statement in an output row: its file, line and offsets (and, for
    texts given on the command line, the text itself)."""
    parts = tuple("" if v is None else str(v) for v in (file, line, start, end))
    return parts + ((text,) if parts[0] == "<argv>" else ())


class PredictionOutput:
    def __init__(self, path: str | os.PathLike, fmt: str, *, resume: bool = False, overwrite: bool = False,
                 columns: list[str] | None = None):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + PARTIAL)
        self.fmt, self.columns = fmt, columns
        self.done: set[tuple[str, ...]] = set()
        self.fh: IO[str] | None = None
        self.resumed = False  # appending to earlier rows (so no CSV header)
        self.header: list[str] | None = None  # the CSV header found when resuming
        if resume and overwrite:
            raise OutputError("--resume and --overwrite contradict each other: choose one")
        if resume and fmt not in ("jsonl", "csv"):
            raise OutputError(f"--resume needs --format jsonl or csv (the {fmt} format cannot be read back)")
        has_old = self.path.exists() or self.partial.exists()
        if has_old and not (resume or overwrite):
            what = self.partial if self.partial.exists() else self.path
            note = " (left by an interrupted run)" if what == self.partial else ""
            raise OutputError(f"{what} already exists{note}: pass --resume to skip the inputs already in it and "
                              f"append the rest, or --overwrite to replace it")
        self._open(resume and has_old)

    # -- opening -------------------------------------------------------------------------------
    def _open(self, resume: bool) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.partial, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise LockedError(f"{self.path} is being written by another stance predict "
                                  f"({self.partial} is locked); wait for it to finish or stop it") from None
            try:  # the file we locked must still be FILE.partial (not renamed to FILE meanwhile)
                same = os.stat(self.partial).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self._fd = fd
        try:
            self._prepare(fd, resume)
        except BaseException:
            os.close(fd)
            raise

    def _prepare(self, fd: int, resume: bool) -> None:
        size = os.fstat(fd).st_size
        if resume:
            if size == 0 and self.path.exists():  # a complete earlier FILE: continue a copy of it
                with open(self.path, "rb") as src, os.fdopen(os.dup(fd), "wb") as dst:
                    shutil.copyfileobj(src, dst)
            keep = self._read_done()
            os.ftruncate(fd, keep)  # a torn last row goes
            self.resumed = keep > 0
        else:
            os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_END)
        self.fh = os.fdopen(os.dup(fd), "a", encoding="utf-8", newline="")

    def _read_done(self) -> int:
        """Collect the keys of the complete rows of FILE.partial; return the byte length they take."""
        keep = 0
        with open(self.partial, "rb") as fh:
            if self.fmt == "jsonl":
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break
                    try:
                        row = json.loads(raw)
                    except (ValueError, RecursionError):
                        break
                    if not isinstance(row, dict):
                        break
                    self.done.add(item_key(row.get("file"), row.get("line"), row.get("start"), row.get("end"),
                                           row.get("text") or ""))
                    keep += len(raw)
                return keep
            read = [0, False]  # bytes consumed by the reader, and whether they end with a newline

            def lines():
                for raw in fh:
                    read[0] += len(raw)
                    read[1] = raw.endswith(b"\n")
                    yield raw.decode("utf-8", errors="replace")

            reader = csv.reader(lines())
            try:
                header = next(reader, None)
            except csv.Error:
                header = None
            if header is None or not read[1]:
                return 0
            self.header = header
            if self.columns and header != self.columns:
                raise OutputError(f"{self.path} has other columns than this model writes ({', '.join(header)}); "
                                  "pass --overwrite to replace it")
            keep = read[0]
            try:
                for row in reader:
                    if len(row) != len(header) or not read[1]:
                        break
                    rec = dict(zip(header, row))
                    self.done.add(item_key(rec.get("file"), rec.get("line"), rec.get("start"), rec.get("end"),
                                           rec.get("text") or ""))
                    keep = read[0]
            except csv.Error:
                pass
        return keep

    # -- writing -------------------------------------------------------------------------------
    def is_done(self, file, line, start, end, text: str = "") -> bool:
        return item_key(file, line, start, end, text) in self.done

    def sync(self) -> None:
        """Make what was written so far durable (called after each chunk)."""
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def commit(self) -> None:
        """The run completed: FILE.partial becomes FILE."""
        self.sync()
        self.fh.close()
        replace_file(self.partial, self.path)
        os.close(self._fd)  # the lock goes with the descriptor, after the rename

    def abandon(self) -> None:
        """The run stopped early: keep FILE.partial for --resume (removed when it holds nothing),
        release the lock."""
        try:
            self.sync()
            if os.fstat(self._fd).st_size == 0:
                self.partial.unlink(missing_ok=True)
        finally:
            self.fh.close()
            os.close(self._fd)

