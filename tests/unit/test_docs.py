"""The docs stay true: the configuration reference is what the models render, links point at files that
exist, and the complete ruleset in the rules reference loads and passes its own tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows.config.reference import DOC, render
from rules import validate_file

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_configuration_reference_is_generated_from_the_models() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is stale: run python -m flows.config.reference --write")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_point_at_files_in_the_repository(doc: Path) -> None:
    targets = [t for t in LINK.findall(doc.read_text(encoding="utf-8")) if not t.startswith(("http://", "https://"))]
    missing = [t for t in targets if not (doc.parent / t).resolve().exists()]
    assert not missing, f"{doc.name} links to missing files: {missing}"
    assert all(REPO in (doc.parent / t).resolve().parents for t in targets), "a link leaves the repository"


def test_the_complete_example_ruleset_loads_and_passes_its_tests(tmp_path: Path) -> None:
    text = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("version:")]
    assert len(blocks) == 1
    (tmp_path / "rules.yaml").write_text(blocks[0], encoding="utf-8")
    report = validate_file(tmp_path / "rules.yaml")
    assert report.ok and report.tests_run == 3, report.render()


def test_the_docs_exist() -> None:
    for name in ("architecture.md", "configuration.md", "rules.md", "operations.md"):
        assert (REPO / "docs" / name).is_file(), name
