"""Every command README.md shows under "Using it" works as written (against the session's
server instead of port 8080, and with the output folder in a temporary place)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README_URL = "http://127.0.0.1:8080/fhir"


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Using it", 1)[1].split("\n- ", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        if not line.startswith("    "):
            continue
        line = line.strip()
        current += (" " if current else "") + line.rstrip("\\").strip()
        if not line.endswith("\\"):
            commands.append(re.sub(r"\s+#.*$", "", current))
            current = ""
    return commands


def test_readme_shows_the_main_commands():
    shown = {shlex.split(c)[1] for c in readme_commands() if c.startswith("fhir-adapter ")}
    assert {"validate", "map", "sync", "verify", "status", "view", "server"} <= shown


def test_every_readme_command_works_as_written(fhir_base_url: str, tmp_path: Path):
    repo = tmp_path / "repo"  # the commands use paths relative to the checkout
    for name in ("mappings", "examples"):
        shutil.copytree(REPO / name, repo / name)
    for command in readme_commands():
        if command.startswith("source ") or command.startswith("fhir-adapter server "):
            continue  # the shell's own; the session's server is managed by the fixture
        args = shlex.split(command.replace(README_URL, fhir_base_url))
        assert args[0] == "fhir-adapter", command
        result = subprocess.run(
            [sys.executable, "-m", "fhir_adapter.cli", *args[1:]],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert result.returncode == 0, (command, result.stderr[-1500:])
