"""The progress file of a pull (``OUT/.pull/state.json``): what is already on disk.

A pull is a list of steps (the study and its participants, then one step per resource type
and batch of patients, then the cell products; or the steps of a bulk export). Each step
writes its resources to a part file (``OUT/.pull/parts/<Type>/<step>.ndjson``, renamed into
place when complete) and only then is recorded here as done, so "done" always means "its
part file is complete". The file is rewritten whole (temporary file + rename) after every
step. A re-run of an unfinished pull of the same server and study skips the done steps; a
finished pull is replaced by a fresh one.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhir_adapter.pull._errors import PullFolderError
from fhir_adapter.pull._files import write_json

STATE_VERSION = 1


@dataclass
class PullState:
    """What one pull into one folder has done so far.

    ``patients`` is the plan fixed by the first step (the study's Patient ids, sorted), so
    the batches of a resumed pull are the same batches. ``export`` keeps the bulk export's
    status URL (relative to the base) and, once complete, its manifest.
    """

    server: str
    study_id: str
    method: str
    patients: list[str] | None = None
    done: set[str] = field(default_factory=set)
    export: dict[str, Any] = field(default_factory=dict)
    complete: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "server": self.server,
            "study_id": self.study_id,
            "method": self.method,
            "patients": self.patients,
            "done": sorted(self.done),
            "export": self.export,
            "complete": self.complete,
        }

    @classmethod
    def from_json(cls, data: Any, path: Path) -> PullState:
        try:
            if data["version"] != STATE_VERSION:
                raise ValueError("version")
            return cls(
                server=str(data["server"]),
                study_id=str(data["study_id"]),
                method=str(data["method"]),
                patients=None if data["patients"] is None else [str(p) for p in data["patients"]],
                done={str(d) for d in data["done"]},
                export=dict(data["export"]),
                complete=bool(data["complete"]),
            )
        except (KeyError, TypeError, ValueError):
            raise PullFolderError(
                f"{path}: not a progress file of this version of "
                "fhir-adapter; pass --restart to pull again from the "
                "start"
            ) from None


class StateFile:
    """The progress file, shared by the threads that fetch steps (writes are serialised)."""

    def __init__(self, path: Path, state: PullState) -> None:
        self.path = path
        self.state = state
        self._lock = threading.Lock()

    @staticmethod
    def load(path: Path) -> PullState | None:
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise PullFolderError(
                f"{path}: the progress file cannot be read; pass --restart "
                "to pull again from the start"
            ) from None
        return PullState.from_json(data, path)

    def save(self) -> None:
        with self._lock:
            write_json(self.path, self.state.as_json())

    def is_done(self, step: str) -> bool:
        with self._lock:
            return step in self.state.done

    def mark_done(self, step: str) -> None:
        """Record ``step`` as done: call only after its part file was renamed into place."""
        with self._lock:
            self.state.done.add(step)
            write_json(self.path, self.state.as_json())

    def update_export(self, **values: Any) -> None:
        with self._lock:
            self.state.export.update(values)
            write_json(self.path, self.state.as_json())
