"""`fhir-adapter report` writes one self-contained HTML page and its figure files: every
figure embedded with its method, nothing loaded from elsewhere, SYNTHETIC DATA when the study
says so; and a headless Chromium renders it (where Chromium is installed)."""

from __future__ import annotations

import base64
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhir_adapter.cli import main

FIGURES = {
    "hba1c_by_arm",
    "hba1c_change",
    "c_peptide_by_arm",
    "c_peptide_change",
    "hba1c_response",
    "c_peptide_response",
    "medication_lowered",
    "adverse_events",
    "completeness",
}
PNG = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.figures: dict[str, bytes] = {}
        self.captions: list[str] = []
        self._figure: str | None = None
        self._caption = False
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "action", "data")]
        if tag == "figure":
            self._figure = values.get("id")
        if tag == "img" and self._figure:
            src = values.get("src") or ""
            assert src.startswith("data:image/png;base64,")
            self.figures[self._figure] = base64.b64decode(src.split(",", 1)[1])
        if tag == "figcaption":
            self._caption = True
            self.captions.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._caption = False

    def handle_data(self, data: str) -> None:
        if self._caption:
            self.captions[-1] += data


@pytest.fixture(scope="module")
def written(mapped: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    pages = {}
    for study, ndjson in mapped.items():
        page = out / f"{study}.html"
        result = CliRunner().invoke(
            main, ["report", "--input", str(ndjson.parent), "--out", str(page)]
        )
        assert result.exit_code == 0, result.output
        assert f"wrote {page} and 9 figures in {out / (study + '_files')}/" in result.output
        pages[study] = page
    return pages


@pytest.mark.parametrize("study", ["study_a", "study_b"])
def test_every_figure_is_embedded_with_its_method_and_nothing_is_external(
    study: str, written: dict[str, Path]
) -> None:
    text = written[study].read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    assert set(page.figures) == FIGURES
    assert all(png.startswith(PNG) for png in page.figures.values())
    assert all(link.startswith("data:") for link in page.links), "no external resource"
    assert "<script" not in text and "@import" not in text and "url(" not in text
    assert len(page.captions) == len(FIGURES)
    assert all("Mean" in c or "Share" in c or "Number" in c or "Visits" in c for c in page.captions)
    assert "SYNTHETIC DATA" in text
    assert "table" in page.tags


def test_figure_files_beside_the_page_equal_the_embedded_ones(written: dict[str, Path]) -> None:
    page = _Page()
    page.feed(written["study_a"].read_text(encoding="utf-8"))
    folder = written["study_a"].with_name("study_a_files")
    assert {p.name for p in folder.iterdir()} == {
        f"{name}.{ext}" for name in FIGURES for ext in ("png", "svg")
    }
    for name, png in page.figures.items():
        assert (folder / f"{name}.png").read_bytes() == png
        svg = (folder / f"{name}.svg").read_text(encoding="utf-8")
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for path in [written["study_a"], folder, *folder.iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_the_synthetic_label_follows_the_flag(mapped: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    result = CliRunner().invoke(
        main,
        ["report", "--input", str(mapped["study_a"]), "--out", str(page), "--not-synthetic"],
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DATA" not in page.read_text(encoding="utf-8")


def test_the_same_study_gives_the_same_files(mapped: dict[str, Path], tmp_path: Path) -> None:
    pages = []
    for name in ("one", "two"):
        page = tmp_path / name / "r.html"
        result = CliRunner().invoke(
            main, ["report", "--input", str(mapped["study_b"]), "--out", str(page)]
        )
        assert result.exit_code == 0, result.output
        pages.append(page)
    assert pages[0].read_bytes() == pages[1].read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "r.html"], "give exactly one source"),
        (["--input", ".", "--server", "http://127.0.0.1:1/fhir", "--out", "r.html"], "exactly one"),
        (["--server", "http://127.0.0.1:1/fhir", "--out", "r.html"], "--server and --study"),
    ],
)
def test_the_source_must_be_one(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["report", *args])
    assert result.exit_code == 2 and message in result.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (apt-get install chromium)")
def test_headless_chromium_renders_the_page(written: dict[str, Path], tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,3000",
            f"--screenshot={shot}",
            written["study_a"].as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-800:]
    data = shot.read_bytes()
    assert data.startswith(PNG) and len(data) > 50_000  # a blank page is a few kB
