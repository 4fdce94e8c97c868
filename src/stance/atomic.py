"""Outputs that are either complete or absent, and locks that keep two processes out of one output.

* :func:`atomic_write_text` / :func:`atomic_write_bytes`: write a temporary sibling file, flush it to
  disk, then ``os.replace`` it over the final name. A reader sees the old file or the new one, never
  half of one; a crash leaves the old file (and, at worst, a ``.NAME.tmp-*`` file beside it).
* :func:`staging_dir` / :func:`commit_dir`: the same for folders (a checkpoint is written into a
  hidden sibling folder and renamed to its final name when complete).
* :func:`atomic_symlink`: point a link at a new target in one ``os.replace``.
* :class:`FileLock`: an advisory ``fcntl.flock`` lock; a second process gets :class:`LockedError`
  naming the output and the process that holds it, instead of writing over it.
"""
from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["LockedError", "FileLock", "atomic_write_text", "atomic_write_bytes", "atomic_symlink",
           "staging_dir", "commit_dir", "replace_file"]


class LockedError(RuntimeError):
    """Another process is writing the same output."""


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` through a temporary sibling and ``os.replace``."""
    return atomic_write_bytes(path, text.encode(encoding))


def replace_file(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Move a finished temporary file over ``path`` (same folder), durably."""
    os.replace(tmp, path)
    _fsync_dir(Path(path).parent)


def atomic_symlink(link: str | os.PathLike, target: str | os.PathLike) -> None:
    """Make ``link`` point at ``target`` (a relative link), replacing any previous link in one step."""
    link = Path(link)
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(Path(target).resolve(), link.parent.resolve()))
    os.replace(tmp, link)


def staging_dir(final: str | os.PathLike) -> Path:
    """A new, empty hidden sibling folder of ``final`` to write into before :func:`commit_dir`."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))


def commit_dir(staged: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Give the complete folder ``staged`` its final name. A folder already there is moved aside
    first and removed after, so ``final`` is at every moment absent, the old folder or the new one."""
    staged, final = Path(staged), Path(final)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staged, 0o777 & ~umask)  # mkdtemp made it private
    for p in staged.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    old = None
    if final.exists() or final.is_symlink():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final, old)
    os.replace(staged, final)
    _fsync_dir(final.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return final


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path`` (created if missing; it stays on disk).

    ``what`` names the output in the error a second process gets. The holder's pid is written into
    the lock file so the message can say who holds it. Released on :meth:`release`, on exit from a
    ``with`` block, and by the operating system when the process dies (no stale locks)."""

    def __init__(self, path: str | os.PathLike, what: str | None = None):
        self.path = Path(path)
        self.what = what or str(self.path)
        self.fd: int | None = None

    def acquire(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            try:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            except OSError:
                pass
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise LockedError(f"{self.what} is being written by another stance process"
                                  + (f" (pid {holder})" if holder else "")
                                  + f"; wait for it to finish, or stop it (lock: {self.path})") from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = None

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
