"""What the HTTP benchmarks share: a real ``assistant serve`` on a free loopback port, and query
texts the server has not seen (every search a cold one)."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


# ---- texts --------------------------------------------------------------------------------------


def report_texts() -> tuple[list[str], list[str]]:
    """(eval questions, corpus clauses): real question texts, and many distinct other ones."""
    rows = [json.loads(line) for line in (ROOT / "evals" / "questions.jsonl").read_text("utf-8").splitlines() if line]
    corpus = " ".join(p.read_text("utf-8") for p in sorted((ROOT / "corpus").glob("*.txt")))
    clauses = [s.strip() for s in re.split(r"(?<=[。！？；，])", corpus) if 8 <= len(s.strip()) <= 120]
    questions = list(dict.fromkeys(r["question"] for r in rows))
    single = [c for c in dict.fromkeys(clauses) if c not in questions]
    # neighbouring clauses joined: a few thousand more distinct texts, still report-like queries
    joined = [a + b for gap in (1, 2, 3, 4, 5, 6) for a, b in zip(single, single[gap:], strict=False)]
    return questions, single + joined


class Distinct:
    """Texts handed out once each (thread-safe): every search is a cold one."""

    def __init__(self, texts: list[str]) -> None:
        self._texts = list(texts)
        random.Random(0).shuffle(self._texts)
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            if not self._texts:
                raise SystemExit("ran out of distinct texts; ask for fewer requests")
            return self._texts.pop()


# ---- the server ----------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes] | None

    def rss_mb(self) -> dict[str, float]:
        """Current and peak resident memory of the server process, in MB (empty for ``--url``)."""
        if self.proc is None:
            return {}
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
        return {"rss_mb": round(fields.get("VmRSS", 0.0), 1), "peak_rss_mb": round(fields.get("VmHWM", 0.0), 1)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Until ``/healthz`` answers and no model is still loading."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode} during start-up")
        try:
            r = httpx.get(f"{url}/healthz", timeout=5)
            if r.status_code == 200 and r.json().get("status") != "loading":
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the server was not ready within {timeout} s")
        time.sleep(0.25)


@contextmanager
def start_server(env: dict[str, str], timeout: float = 600.0) -> Iterator[Server]:
    """``assistant serve`` on a free loopback port with ``env`` added; stopped (SIGKILL if need be) at the end."""
    port = _free_port()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **env}
    cmd = [sys.executable, "-m", "assistant.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL)
    server = Server(f"http://127.0.0.1:{port}", proc)
    try:
        _wait_ready(server.url, proc, timeout)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
