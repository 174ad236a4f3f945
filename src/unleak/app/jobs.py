"""Long work (protecting a folder, scanning) runs in a thread; the page follows it by server-sent events."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from unleak.errors import UnleakError
from unleak.evidence.log import acting_as


@dataclass
class Job:
    id: str
    case: str
    kind: str  # protect | scan
    owner: str
    done: int = 0
    total: int | None = None
    lines: list[str] = field(default_factory=list)  # per-file errors, refusals, findings
    finished: bool = False
    error: str | None = None
    summary: str = ""
    started: float = field(default_factory=time.monotonic)
    runs: int = 0  # a watch: scans finished so far
    stop: threading.Event = field(default_factory=threading.Event)

    def state(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "finished": self.finished,
            "error": self.error,
            "summary": self.summary,
            "lines": self.lines[-200:],
            "runs": self.runs,
        }


class Jobs:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, case: str, kind: str, owner: str, work: Callable[[Job], str]) -> Job:
        job = Job(secrets.token_urlsafe(12), case, kind, owner)
        with self._lock:
            self._jobs[job.id] = job

        def run() -> None:
            try:
                with acting_as(owner):
                    job.summary = work(job)
            except UnleakError as exc:
                job.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - shown to the person as one line, never a traceback
                job.error = f"{type(exc).__name__}: {exc}"
            finally:
                job.finished = True

        threading.Thread(target=run, name=f"unleak-app-{kind}", daemon=True).start()
        return job

    def running(self, case: str, kind: str) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.case == case and j.kind == kind and not j.finished]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job_id: str, timeout: float = 60.0) -> Job | None:
        end = time.monotonic() + timeout
        job = self.get(job_id)
        while job is not None and not job.finished and time.monotonic() < end:
            time.sleep(0.05)
        return job
