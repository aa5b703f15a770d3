"""Where a running local stack (`python -m local up`) tells others about itself, and how a second one is
kept from starting: a folder with `stack.json` (its endpoints) and `stack.lock`, which `up` holds locked
for as long as it runs. The lock goes with the process however it ends, so a stale `stack.json` is
never taken for a running stack.

The folder is `$ZNS_RELAY_LOCAL_STATE`, else `local/.state` in the current directory or the nearest
parent that has one (the repository's root, from anywhere inside it).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATE_ENV = "ZNS_RELAY_LOCAL_STATE"
STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"
DEFAULT_FOLDER = Path("local") / ".state"
UP_COMMAND = ".venv/bin/python -m local up"


class StackAlreadyRunning(Exception):
    def __init__(self, folder: Path, pid: str) -> None:
        super().__init__(
            f"a local stack is already running (pid {pid or 'unknown'}; its endpoints are in "
            f"{folder / STATE_FILE}): use that one, or stop it first (Ctrl-C where it runs, or "
            f"kill {pid or '<its pid>'})"
        )


class NoLocalStack(Exception):
    def __init__(self, folder: Path | None, starting: bool = False) -> None:
        if starting:
            super().__init__(
                "the local stack is still starting: try again once `up` has printed its endpoints"
            )
            return
        where = f" (nothing holds {folder / LOCK_FILE})" if folder is not None else ""
        super().__init__(f"no local stack is running{where}: start one with `{UP_COMMAND}`")


def state_folder(start: Path | None = None) -> Path | None:
    """The state folder to use: the environment's, or the nearest `local/.state`; None if neither."""
    configured = os.environ.get(STATE_ENV)
    if configured:
        return Path(configured)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DEFAULT_FOLDER).is_dir():
            return folder / DEFAULT_FOLDER
    return None


@contextmanager
def hold(folder: Path) -> Iterator[None]:
    """Held by `up` while it runs; raises StackAlreadyRunning when another `up` holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / LOCK_FILE).open("a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise StackAlreadyRunning(folder, lock.read().strip()) from None
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            (folder / STATE_FILE).unlink(missing_ok=True)


def is_running(folder: Path) -> bool:
    """Whether an `up` holds the folder's lock now."""
    path = folder / LOCK_FILE
    if not path.exists():
        return False
    with path.open("r", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def running_stack(folder: Path | None = None) -> dict[str, Any]:
    """The running local stack's `stack.json`, or NoLocalStack."""
    folder = folder or state_folder()
    if folder is None or not is_running(folder):
        raise NoLocalStack(folder)
    if not (folder / STATE_FILE).exists():
        raise NoLocalStack(folder, starting=True)
    document: dict[str, Any] = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    return document
