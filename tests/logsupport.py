"""Helpers for the question-log tests: answers shaped like the pipeline's, and a child process
that answers real questions while logging them (for the kill -9 test)."""

from __future__ import annotations

from assistant.core.types import Answer, Citation, Passage, Source


def make_answer(question: str, text: str = "答案[1]。", *, refused: bool = False, cited: list[Passage] | None = None,
                retrieved: list[Passage] | None = None, generator: str = "local:qwen2.5-1.5b",
                language: str = "zh", dropped: list[str] | None = None) -> Answer:
    """An :class:`Answer` as the pipeline returns it (citations and passages from real passages)."""
    cited = [] if refused else list(cited or [])
    citations = [
        Citation(marker=i, **Source.of(p, 0.9).model_dump()) for i, p in enumerate(cited, start=1)
    ]
    return Answer(
        question=question, answer=text, refused=refused, generator=generator, citations=citations,
        timings={"retrieve_ms": 30.0, "total_ms": 95.5}, language=language,  # type: ignore[arg-type]
        passages=[Source.of(p, 0.9) for p in (retrieved or cited)],
        prompt={"name": f"answer_{language}", "sha256": "0" * 64}, dropped=list(dropped or []),
    )


# ---- child processes (python -m tests.logsupport ...) ------------------------------------------


def _write_child(db: str, n: int, threads: int) -> None:
    """Record ``n`` answers from ``threads`` threads through one QuestionLog, then close it."""
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from assistant.questionlog import QuestionLog

    with QuestionLog(Path(db)) as qlog, ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(lambda i: qlog.record(make_answer(f"问题{i}？"), query=f"问题{i}", channel="api").answer_id,
                            range(n)))
    print("\n".join(str(i) for i in ids), flush=True)


def _ask_child(db: str, index_dir: str, n: int, threads: int) -> None:
    """Answer ``n`` questions of the eval set with the real pipeline (extractive), ``threads`` at a
    time, logging each; prints "ready" once the assistant is built."""
    import itertools
    import json
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from assistant.assemble import build_assistant
    from assistant.questionlog import QuestionLog
    from tests.support import QUESTIONS_FILE, make_settings

    settings = make_settings(index_dir=Path(index_dir), log_db=Path(db), generator="extractive")
    assistant = build_assistant(settings)
    lines = QUESTIONS_FILE.read_text(encoding="utf-8").splitlines()
    questions = list(itertools.islice(itertools.cycle(json.loads(x)["question"] for x in lines), n))
    qlog = QuestionLog.from_settings(settings)
    print("ready", flush=True)
    with ThreadPoolExecutor(threads) as pool:
        for answer in pool.map(lambda q: qlog.ask(assistant.stream(q), channel="api"), questions):
            print(answer.answer_id, flush=True)
    qlog.close()


if __name__ == "__main__":
    import sys

    command, *rest = sys.argv[1:]
    if command == "write":
        _write_child(rest[0], int(rest[1]), int(rest[2]))
    elif command == "ask":
        _ask_child(rest[0], rest[1], int(rest[2]), int(rest[3]))
    else:
        raise SystemExit(f"unknown command {command!r}")
