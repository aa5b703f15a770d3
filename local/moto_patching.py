"""Replacing attributes of moto's classes, reversibly, each replacement pinned to the code it was written for.

A patch of a third-party class silently goes wrong when an upgrade changes the code it replaces or wraps.
So every Patch names a fingerprint of that code as it was when the patch was checked (moto
MOTO_VERSION_CHECKED, werkzeug WERKZEUG_VERSION_CHECKED); tests/unit/test_moto_patches.py fails as soon
as the code differs, and whoever upgrades re-reads the patch against the new code before updating the
fingerprint.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

MOTO_VERSION_CHECKED = "5.2.5"
WERKZEUG_VERSION_CHECKED = "3.1.9"


ABSENT = object()  # what Patch.original() is for an attribute the owner does not define


@dataclass(frozen=True)
class Patch:
    """Set `owner.name` (a class's or module's attribute) to `replace(original)`.

    `fingerprint` is that of the original's source, or of `relies_on`'s when the patch depends on how
    other code uses the attribute rather than on the attribute's own code (or adds an attribute).
    """

    owner: Any
    name: str
    replace: Callable[[Any], Any]
    fingerprint: str
    relies_on: Any = None

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


def apply(patches: Iterable[Patch]) -> Callable[[], None]:
    """Install the patches; returns what puts the originals back."""
    patches = tuple(patches)
    originals = [(patch.owner, patch.name, patch.original()) for patch in patches]
    for (owner, name, original), patch in zip(originals, patches, strict=True):
        setattr(owner, name, patch.replace(original))

    def undo() -> None:
        for owner, name, original in reversed(originals):
            if original is ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, original)

    return undo
