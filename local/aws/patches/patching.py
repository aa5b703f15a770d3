"""Replacing attributes of moto's classes (and werkzeug's, jsonpath-ng's), reversibly, each replacement pinned
to the code it was written for, and each attribute replaced once at most.

A patch of a third-party class silently goes wrong when an upgrade changes the code it replaces or wraps.
So every library a patch touches is pinned in requirements-dev.txt at CHECKED_VERSIONS, and every Patch
names a fingerprint of the code as it was when the patch was checked; tests/unit/test_moto_patches.py
fails as soon as either differs, and whoever upgrades re-reads the patch against the new code before
updating the fingerprint.

Two patches of one attribute would make the result depend on the order of installation (and of undoing):
`apply` refuses the second, so an attribute that needs two behaviours gets one patch that composes them.
"""

from __future__ import annotations

import hashlib
import inspect
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# The distributions whose code the patches replace or rely on, at the versions the patches were checked
# against (requirements-dev.txt pins each at this version).
CHECKED_VERSIONS = {"moto": "5.2.5", "werkzeug": "3.1.9", "jsonpath-ng": "1.17.0"}


ABSENT = object()  # what Patch.original() is for an attribute the owner does not define


@dataclass(frozen=True)
class Patch:
    """Set `owner.name` (a class's or module's attribute) to `replace(original)`, for the reason `why`.

    `fingerprint` is that of the original's source, or of `relies_on`'s when the patch depends on how
    other code uses the attribute rather than on the attribute's own code (or adds an attribute).
    """

    owner: Any
    name: str
    replace: Callable[[Any], Any]
    fingerprint: str
    relies_on: Any = None
    why: str = field(kw_only=True)  # one line: what moto (or werkzeug, jsonpath-ng) gets wrong or slow

    @property
    def label(self) -> str:
        return f"{getattr(self.owner, '__name__', self.owner)}.{self.name}"

    def original(self) -> Any:
        return vars(self.owner).get(self.name, ABSENT)

    def checked_code(self) -> Any:
        return self.original() if self.relies_on is None else self.relies_on


def source_fingerprint(attribute: Any) -> str:
    """A short hash of the source code of a function, property, static or class method."""
    if isinstance(attribute, property):
        attribute = attribute.fget
    elif isinstance(attribute, staticmethod | classmethod):
        attribute = attribute.__func__
    source = inspect.getsource(attribute)
    return hashlib.sha256(source.encode()).hexdigest()[:12]


class PatchedTwice(RuntimeError):
    """A second patch of an attribute already patched: compose both behaviours in one Patch instead."""


_installed: set[tuple[Any, str]] = set()  # (owner, name) of every patch installed and not undone
_installing = threading.Lock()


def apply(patches: Iterable[Patch]) -> Callable[[], None]:
    """Install the patches; returns what puts the originals back. Refuses (PatchedTwice) to patch an
    attribute twice, whether both patches are in this call or one is installed already."""
    patches = tuple(patches)
    targets = [(patch.owner, patch.name) for patch in patches]
    with _installing:
        twice = [
            patch.label
            for index, (patch, target) in enumerate(zip(patches, targets, strict=True))
            if target in _installed or target in targets[:index]
        ]
        if twice:
            raise PatchedTwice(f"patched already: {', '.join(twice)} (compose the behaviours in one Patch)")
        originals = [(patch.owner, patch.name, patch.original()) for patch in patches]
        for (owner, name, original), patch in zip(originals, patches, strict=True):
            setattr(owner, name, patch.replace(original))
        _installed.update(targets)
    undone = False

    def undo() -> None:
        nonlocal undone
        with _installing:
            if undone:
                return
            undone = True
            for owner, name, original in reversed(originals):
                if original is ABSENT:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            _installed.difference_update(targets)

    return undo


@contextmanager
def patched(patches: Iterable[Patch]) -> Iterator[None]:
    """The patches installed while the context lasts (for `mock_aws()`, in the tests' process)."""
    undo = apply(patches)
    try:
        yield
    finally:
        undo()
