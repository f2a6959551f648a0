"""``assistant eval``: run question sets through ``ask()`` and score retrieval, answers, citations
and latency; write results.json, report.md and chart.png; exit 1 under the thresholds."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import evaluation as ev
from assistant.commands import Subparsers, add_corpus_options
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings

if TYPE_CHECKING:
    from assistant.evaluation.calibration import Calibration
    from assistant.evaluation.evalset import EvalSet
    from assistant.evaluation.judge import GroundingJudge


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score answers and citations on question sets (exit 1 below thresholds)",
        description="Run question sets through the same ask() as the API and report retrieval, "
        "key-fact, refusal, citation (ALCE, independent judge) and latency metrics.",
    )
    p.add_argument("files", nargs="*", type=Path,
                   help=f"JSONL question sets (default {ev.DEFAULT_QUESTIONS.relative_to(ev.EVALS_DIR.parent)}); "
                   "a set's header line may name its corpus, thresholds and judge labels (evals/README.md)")
    add_corpus_options(p)
    p.add_argument("--generator", action="append", dest="generators", metavar="NAME",
                   help="generator to evaluate; repeat for several (default: the configured one)")
    p.add_argument("--out", type=Path,
                   help="output folder (default evals/out/<timestamp>, also linked as evals/out/latest)")
    p.add_argument("--noise", type=int, default=0, metavar="N",
                   help="also run with N irrelevant passages mixed into the context")
    p.add_argument("--limit", type=int, metavar="N", help="only N questions, taken round-robin across question types")
    p.add_argument("--thresholds", type=Path,
                   help="TOML thresholds file (default: the set's header's, else evals/thresholds.toml)")
    p.add_argument("--labels", type=Path, action="append", metavar="FILE",
                   help="hand-labelled judge sample(s) for the judge's error rate "
                        "(default: the set's header's; for the configured corpus the tuning and held-out samples)")
    p.add_argument("--combine", nargs="+", type=Path, metavar="RESULTS",
                   help="ask nothing: merge earlier results.json files into one report and chart "
                        "(generators side by side)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # imports here: `assistant --help` must not load models or matplotlib
    from assistant.assemble import build_assistant
    from assistant.embed import load_embedder
    from assistant.evaluation.calibration import calibrate, load_labels
    from assistant.evaluation.dataset import subset, validate_against_corpus
    from assistant.evaluation.evalset import open_eval_set
    from assistant.evaluation.judge import GroundingJudge
    from assistant.evaluation.report import build_results, markdown, write_all
    from assistant.evaluation.runner import run_questions
    from assistant.evaluation.thresholds import check, load_thresholds
    from assistant.ingest import load_corpus

    if args.combine:
        return _combine(args)
    if args.noise < 0 or (args.limit is not None and args.limit < 1):
        raise InvalidInputError("--noise must be >= 0 and --limit >= 1")
    files = args.files or [ev.DEFAULT_QUESTIONS]
    evalset = open_eval_set(files, settings, corpus=args.corpus, index_dir=args.index_dir,
                            thresholds=args.thresholds, labels=args.labels)
    settings, questions = evalset.settings, evalset.questions
    thresholds = load_thresholds(evalset.thresholds)  # fail on a bad file before the long run
    print(evalset.describe(), file=sys.stderr)
    passages = load_corpus(settings.corpus_dir, settings.chunk_max_chars)
    problems = validate_against_corpus(questions, passages)
    if problems:
        raise InvalidInputError("the question set does not fit the corpus:\n  " + "\n  ".join(problems))
    if args.limit:
        questions = subset(questions, args.limit)

    judge = GroundingJudge(load_embedder(ev.JUDGE_EMBEDDING_MODEL, settings.embedding_batch_size))
    calibrations = {f.name: calibrate(judge, load_labels(f, passages)) for f in evalset.judge_labels}
    for name, c in calibrations.items():
        print(f"{name}: {c.summary()}", file=sys.stderr)

    # retrieval scoring searches each question before ask() does; with the retriever's caches
    # on, ask() would then report a cache hit as retrieve_ms
    assistant = build_assistant(settings, cache=False)
    started = datetime.now(UTC)
    runs = run_questions(
        questions,
        ask=assistant.ask,
        search=assistant.search,
        judge=judge,
        generators=args.generators or [None],
        noise_levels=(0, args.noise) if args.noise else (0,),
        progress=not args.no_progress,
    )
    failures = [f for r in runs if r.noise == 0 for f in check(r.overall(), thresholds, r.generator)]
    meta = _meta(args, evalset, len(questions), started, judge, calibrations)
    results = build_results(runs, meta, failures)
    out = args.out or _default_out(started)
    paths = write_all(results, out)
    print(markdown(results))
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    if failures:
        print("below thresholds:\n  " + "\n  ".join(str(f) for f in failures), file=sys.stderr)
        return 1
    return 0


def _meta(args: argparse.Namespace, evalset: EvalSet, n: int, started: datetime,
          judge: GroundingJudge, calibrations: dict[str, Calibration]) -> dict[str, object]:
    """What a results file records about its run, so figures can be traced to their set-up."""
    settings = evalset.settings
    return {
        "started": started.isoformat(timespec="seconds"),
        "files": [str(f) for f in evalset.files],
        "corpus": str(evalset.corpus_dir),
        "index": str(evalset.index_dir),
        "questions": n,
        "noise": args.noise,
        "thresholds": str(evalset.thresholds),
        "judge": {
            "summary": "; ".join(f"{name}: {c.summary()}" for name, c in calibrations.items())
            or "no hand-labelled sample over this corpus (its error rate is measured on the report's)",
            "error_rates": {name: c.error_rate for name, c in calibrations.items()},
            "embedding_model": ev.JUDGE_EMBEDDING_MODEL,
            "min_containment": judge.min_containment,
            "min_cosine": judge.min_cosine,
        },
        "settings": {
            "k": settings.k, "fusion": settings.fusion, "embedding_model": settings.embedding_model,
            "context_passages": settings.context_passages, "min_relevance": settings.min_relevance,
            "min_relevance_crosslingual": settings.min_relevance_crosslingual,
            "calibrated": settings.calibrated,
            "generator": settings.generator, "local_model": settings.local_model,
            **{name: getattr(settings, name) for name in type(settings).model_fields if name.startswith("extractive_")},
        },
    }


def _default_out(started: datetime) -> Path:
    out = ev.DEFAULT_OUT / started.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    latest = ev.DEFAULT_OUT / "latest"
    # a relative symlink keeps working when the checkout moves
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(out.name)
    return out


def _combine(args: argparse.Namespace) -> int:
    import json

    from assistant.evaluation.report import combine, markdown, write_all

    try:
        docs = [json.loads(p.read_text(encoding="utf-8")) for p in args.combine]
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read results to combine: {exc}") from exc
    results = combine(docs)
    paths = write_all(results, args.out or _default_out(datetime.now(UTC)))
    print(markdown(results))
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0
