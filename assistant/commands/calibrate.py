"""``assistant calibrate EVALSET``: fit the refusal floors to a corpus on a question set's
answerable and unanswerable questions, and write them beside the index (``calibration.json``).
How the floors are fitted: :mod:`assistant.evaluation.floors`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.commands import Subparsers, add_corpus_options
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings

if TYPE_CHECKING:
    from assistant.evaluation.floors import Calibration

#: the default cap on false refusals: the target of the eval sets (evals/*/thresholds.toml)
DEFAULT_MAX_FALSE_REFUSALS = 0.08


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="fit the refusal floors to a corpus on a question set; write them beside its index",
        description="Answer a question set with the refusal floors off, then fit each floor (retrieval; the extractive "
        "generator's sentence floor when it answers) to handle the most questions right with false refusals "
        "under a cap. Writes calibration.json beside the index, which the settings read (an explicit ASSISTANT_* "
        "value still wins; ASSISTANT_USE_CALIBRATION=false ignores the file).",
    )
    p.add_argument("evalset", type=Path, help="JSONL question set with answerable and unanswerable questions")
    add_corpus_options(p)
    p.add_argument("--generator", metavar="NAME", help="generator to fit for (default: the configured one)")
    p.add_argument("--max-false-refusals", type=float, default=DEFAULT_MAX_FALSE_REFUSALS, metavar="RATE",
                   help="highest share of answerable questions the fitted values may refuse "
                        f"(default {DEFAULT_MAX_FALSE_REFUSALS})")
    p.add_argument("--folds", type=int, default=5, metavar="K", help="cross-validation folds (default 5)")
    p.add_argument("--dry-run", action="store_true", help="fit and report, but write nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # imports here: `assistant --help` must not load models
    from tqdm import tqdm

    from assistant.assemble import build_assistant
    from assistant.core.calibration import CALIBRATED_SETTINGS, CalibrationFile, write_calibration
    from assistant.evaluation.dataset import validate_against_corpus
    from assistant.evaluation.evalset import open_eval_set
    from assistant.evaluation.floors import FLOOR_OFF, GATE_SETTINGS, calibrate
    from assistant.evaluation.observe import observe
    from assistant.ingest import load_corpus

    if not 0.0 <= args.max_false_refusals <= 1.0:
        raise InvalidInputError(f"--max-false-refusals must be a share from 0 to 1, got {args.max_false_refusals}")
    if args.folds < 2:
        raise InvalidInputError(f"--folds must be at least 2, got {args.folds}")
    # fit from the settings' own values, not from an earlier calibration of this index
    evalset = open_eval_set([args.evalset], settings.with_changes(use_calibration=False), corpus=args.corpus,
                            index_dir=args.index_dir)
    settings, questions = evalset.settings, evalset.questions
    print(evalset.describe(), file=sys.stderr)
    problems = validate_against_corpus(questions, load_corpus(settings.corpus_dir, settings.chunk_max_chars))
    if problems:
        raise InvalidInputError("the question set does not fit the corpus:\n  " + "\n  ".join(problems))
    if not any(q.answerable for q in questions) or all(q.answerable for q in questions):
        raise InvalidInputError(f"{args.evalset} needs both answerable and unanswerable questions "
                                "to fit refusal thresholds")
    explicit = sorted(set(CALIBRATED_SETTINGS) & settings.model_fields_set)
    if explicit:
        print(f"note: {', '.join(explicit)} set explicitly; that value keeps winning over the fitted one",
              file=sys.stderr)

    in_force = {name: float(getattr(settings, name)) for name in CALIBRATED_SETTINGS}
    assistant = build_assistant(settings.model_copy(update=dict.fromkeys(GATE_SETTINGS, FLOOR_OFF)), progress=True)
    generator = assistant.generators.resolve(args.generator)
    with tqdm(total=len(questions), desc=f"calibrating ({generator})", disable=args.no_progress,
              file=sys.stderr) as bar:
        observations = observe(assistant, questions, generator, on_question=bar.update)
    cal = calibrate(observations, in_force, args.max_false_refusals, folds_k=args.folds)
    name = assistant.generators.get(generator).name
    print(render(cal, args, name, len(questions)))
    if args.dry_run:
        return 0
    path = write_calibration(settings.index_dir, CalibrationFile(
        embedding_model=settings.embedding_model, values=cal.values,
        fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        eval_set=str(args.evalset), generator=name, max_false_refusals=args.max_false_refusals,
        questions=len(questions), report=cal.report(),
    ))
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def render(cal: Calibration, args: argparse.Namespace, generator: str, n: int) -> str:
    """The calibration as a Markdown report: floors before and after, then the figures."""
    lines = [f"Calibrated on {args.evalset} ({n} questions, generator {generator}, "
             f"false refusals <= {args.max_false_refusals:g}).", "",
             "| setting | before | after |", "|---|---|---|"]
    for lang in cal.languages.values():
        for setting, (before, after) in lang["floors"].items():
            fitted = lang["fitted"][setting]
            unadopted = "" if lang["adopted"] else f" (fitted {fitted:.4f}, not adopted)"
            lines.append(f"| `{setting}` | {before:.4f} | {after:.4f}{unadopted} |")
    lines += ["", "| | correct | key facts | negative rejection | false refusals |", "|---|---|---|---|---|"]
    rows = (("before (values in force)", "before"), ("fitted, on the questions fitted on", "fitted_in_sample"),
            (f"fitted, on held-out questions ({args.folds}-fold cross-validation)", "cross_validated"),
            ("after (fitted values adopted where they generalise)", "after"),
            ("after, held-out estimate", "after_held_out"))
    for label, which in rows:
        t = cal.tallies(which)
        lines.append(f"| {label} | {t.correct}/{t.answerable + t.unanswerable} | {_pct(t.key_fact_accuracy)} | "
                     f"{_pct(t.negative_rejection)} | {_pct(t.false_refusal_rate)} |")
    notes = [f"{lang}: {info['note']}" for lang, info in cal.languages.items() if info["note"]]
    return "\n".join(lines + ([""] + notes if notes else []))
