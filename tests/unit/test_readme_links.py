"""The README is the newcomer's one page: every link it makes into the repository (the docs pages above
all) leads to a file that is there. The docs pages' own links and anchors are checked by `make lint`'s
strict mkdocs build; the README is not part of that site."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)\s]*)?\)")


def test_every_link_the_readme_makes_into_the_repository_leads_to_a_file() -> None:
    targets = [target for target in _LINK.findall(README) if "://" not in target]

    assert "docs/contract.md" in targets and "docs/deploying.md" in targets
    assert [target for target in targets if not (ROOT / target).is_file()] == []


def test_the_readme_stays_one_page() -> None:
    assert len(README.splitlines()) <= 200
