"""The examples on the command pages (docs/commands/*.md) work as written: every ``console``
line runs, in order, against the session's server, from a copy of the repository's top
folder, and exits as the page says (0 unless the line ends in ``# exit N``)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted((REPO / "docs" / "commands").glob("*.md"))
README_URL = "http://127.0.0.1:8080/fhir"
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def examples(page: Path) -> list[tuple[str, int]]:
    """(command, expected exit code) for each ``$ `` line of the page's console blocks."""
    found, inside = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```console"
            continue
        if inside and line.startswith("$ "):
            command = line[2:]
            match = _EXIT.search(command)
            code = int(match.group(1)) if match else 0
            found.append((_EXIT.sub("", command).strip(), code))
    return found


def test_the_index_links_every_page_and_every_link_resolves():
    index = (REPO / "docs" / "commands" / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)", index)
    assert links and all((REPO / "docs" / "commands" / link).exists() for link in links)
    assert {p.name for p in PAGES if p.name != "README.md"} <= set(links)


@pytest.mark.parametrize("page", [p for p in PAGES if examples(p)], ids=lambda p: p.name)
def test_command_page_examples_work_as_written(
    page: Path, fhir_base_url: str, tmp_path: Path
) -> None:
    for name in ("mappings", "examples"):
        shutil.copytree(REPO / name, tmp_path / name)
    for command, code in examples(page):
        args = shlex.split(command.replace(README_URL, fhir_base_url))
        assert args[0] == "fhir-adapter", command
        result = subprocess.run(
            [sys.executable, "-m", "fhir_adapter.cli", *args[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == code, (command, result.stderr[-1500:])
        assert "Traceback" not in result.stderr
