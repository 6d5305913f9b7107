"""Writing files safely: atomic replacement, and a lock file that keeps two runs off one output.

    atomic_write(path, lambda tmp: tmp.write_bytes(data))   # readers never see half a file
    with FileLock(path):                                    # path.lock holds this process's PID
        ...                                                 # a second run on `path` gets FileLocked

A temporary file is named `.NAME.PID.tmp` beside its target, so one left by a killed process
(its PID gone) is recognised and removed by the next write to that target. A lock whose PID is
gone (a crash, kill -9) is stale and is taken over.
"""

import json
import os
import socket
import threading
import time
from pathlib import Path


class FileLocked(OSError):
    """Another live process (or another thread of this one) holds the lock on a file."""


def pid_alive(pid: int) -> bool:
    """Returns True if a process with this PID runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    except OSError:
        return False
    return True


def _temp_name(path: Path, pid: int) -> Path:
    return path.with_name(f".{path.name}.{pid}.tmp")


def remove_stale_temporaries(path) -> list[Path]:
    """Deletes `.NAME.PID.tmp` files beside `path` whose process is gone; returns them."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:-len(".tmp")]
        if pid.isdigit() and not pid_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def atomic_write(path, write) -> Path:
    """Returns `path` after write(tmp_path) filled a temporary file that then replaced it in one step.

    A crash leaves either the old file or the new one, never half of one; temporaries of
    earlier writers that were killed are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give a file name")
    remove_stale_temporaries(path)
    tmp = _temp_name(path, os.getpid())
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def lock_path(path) -> Path:
    """Returns the lock file that guards `path`: `NAME.lock` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


_held: dict[str, tuple[int, int]] = {}  # lock file -> (thread id, depth): re-entrant within a thread
_held_guard = threading.Lock()


class FileLock:
    """Holds `path`.lock while a run writes `path`, so a second run on the same file is refused.

    The lock file is created exclusively and holds {"pid", "host", "started"}; it is removed on
    exit. One left by a process that is gone (same host, PID not running) is stale and taken over.
    The thread holding a lock may take it again (nested use); another thread or process may not.
    """

    def __init__(self, path, what: str = "file"):
        self.path, self.what = Path(path), what
        self.lock = lock_path(self.path)
        self._mine: str | None = None

    def __enter__(self) -> "FileLock":
        if self._mine is None:  # not yet taken (claim_new_file hands out a lock already taken)
            self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Takes the lock or raises FileLocked saying who holds it; IsADirectoryError if path is a folder."""
        if self.path.is_dir():
            raise IsADirectoryError(f"{self.path} is a directory; give a {self.what} name")
        key = str(self.lock.resolve())
        with _held_guard:
            holder = _held.get(key)
            if holder and holder[0] == threading.get_ident():
                _held[key] = (holder[0], holder[1] + 1)
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(3):
                content = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                                      "thread": threading.get_ident()})
                if self._create(content):
                    _held[key] = (threading.get_ident(), 1)
                    self._mine = content
                    return
                if holder is None and not self._remove_if_stale():
                    break
            raise FileLocked(self._held_message())

    def release(self) -> None:
        """Lets the lock go (the outermost release of the holding thread removes the file)."""
        key = str(self.lock.resolve())
        with _held_guard:
            holder = _held.get(key)
            if holder is None or holder[0] != threading.get_ident():
                return
            if holder[1] > 1:
                _held[key] = (holder[0], holder[1] - 1)
                return
            del _held[key]
            try:
                if self.lock.read_text() == self._mine:  # never remove a lock someone else took over
                    self.lock.unlink()
            except OSError:
                pass
            self._mine = None

    def _create(self, content: str) -> bool:
        """Creates the lock file with its content in one step (a hard link fails if it exists)."""
        tmp = _temp_name(self.lock, os.getpid())
        tmp.write_text(content)
        try:
            os.link(tmp, self.lock)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def _owner(self) -> dict | None:
        try:
            owner = json.loads(self.lock.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    def _remove_if_stale(self) -> bool:
        """Removes the lock file if its process is gone (or it vanished); returns whether to try again."""
        try:
            before = self.lock.read_text()
        except FileNotFoundError:
            return True
        except OSError:
            return False
        owner = self._owner()
        if owner == {}:
            return True
        if (owner is None or owner.get("host") != socket.gethostname()
                or not isinstance(owner.get("pid"), int) or pid_alive(owner["pid"])):
            return False
        try:
            if self.lock.read_text() == before:
                self.lock.unlink()
        except FileNotFoundError:
            pass
        return True

    def _held_message(self) -> str:
        owner = self._owner() or {}
        who = f"process {owner['pid']} on {owner.get('host', '?')}" if "pid" in owner else "another process"
        if owner.get("pid") == os.getpid():
            who = "another run in this process"
        since = (f", since {time.strftime('%H:%M:%S', time.localtime(owner['started']))}"
                 if isinstance(owner.get("started"), (int, float)) else "")
        return (f"{self.path} is in use by {who}{since} (lock file {self.lock}); wait for that run to finish, "
                f"or choose another output. If no run is using it, delete the lock file.")


def claim_new_file(folder, stem: str, suffix: str) -> FileLock:
    """Returns a held FileLock on a new file folder/STEM{suffix} (else STEM-2, STEM-3, ...): the first
    name that neither an existing file nor a live run has, so two runs never share one file."""
    folder = Path(folder)
    for number in range(1, 10_000):
        path = folder / f"{stem}{'' if number == 1 else f'-{number}'}{suffix}"
        if path.exists():
            continue
        lock = FileLock(path, "run")
        try:
            lock.acquire()
        except FileLocked:
            continue
        if path.exists():  # written between the check and the lock
            lock.release()
            continue
        return lock
    raise FileLocked(f"no free file name {stem}-N{suffix} in {folder}")
