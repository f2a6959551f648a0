"""Which documents, index, thresholds and judge labels a question set runs with.

Each question set is about its own documents. ``assistant eval`` and ``assistant calibrate``
resolve them once, here, in this order:

* corpus: ``--corpus DIR``, else the ``corpus`` of the set's header line, else the configured
  corpus (``ASSISTANT_CORPUS_DIR``);
* index: ``--index-dir DIR``, else the configured index when the corpus is the configured one,
  else ``<corpus>.index`` beside the corpus folder (built on first use; the main ``index/`` is
  never touched by another corpus). A calibration file in that index applies to the run;
* thresholds: ``--thresholds FILE``, else the header's, else ``evals/thresholds.toml``;
* judge labels: ``--labels FILE``, else the header's, else the default samples when the corpus
  is the configured one (their phrases name passages of that corpus), else none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant import evaluation as ev
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings
from assistant.evaluation.dataset import Question, load_questions, read_header

#: the suffix of the index folder an eval corpus gets beside itself
INDEX_SUFFIX = ".index"


@dataclass(frozen=True)
class EvalSet:
    """Questions, and everything a run over them needs."""

    files: list[Path]
    questions: list[Question]
    settings: Settings  # with the set's corpus and index (and that index's calibration)
    thresholds: Path
    judge_labels: list[Path] = field(default_factory=list)

    @property
    def corpus_dir(self) -> Path:
        return self.settings.corpus_dir

    @property
    def index_dir(self) -> Path:
        return self.settings.index_dir

    def describe(self) -> str:
        """One line saying what the run uses, for the log."""
        floors = ", ".join(f"{k}={v:g}" for k, v in self.settings.calibrated.items())
        return (f"corpus {self.corpus_dir}, index {self.index_dir}, thresholds {self.thresholds}; "
                + (f"calibrated: {floors}" if floors else "no calibrated thresholds"))


def _same(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def index_dir_for(corpus_dir: Path, settings: Settings) -> Path:
    """The index an eval run over ``corpus_dir`` uses (see the module docstring)."""
    if _same(corpus_dir, settings.corpus_dir):
        return settings.index_dir
    return corpus_dir.parent / f"{corpus_dir.name}{INDEX_SUFFIX}"


def _agreed(values: list[object], what: str, files: Sequence[Path]) -> object | None:
    """The one value the headers give for ``what`` (None if none does); two different ones are an error."""
    distinct = list(dict.fromkeys(values))
    if len(distinct) > 1:
        names = ", ".join(map(str, files))
        raise InvalidInputError(f"the question sets {names} name different {what}; run them separately")
    return distinct[0] if distinct else None


def open_eval_set(files: Sequence[Path], settings: Settings, *, corpus: Path | None = None,
                  index_dir: Path | None = None, thresholds: Path | None = None,
                  labels: Sequence[Path] | None = None) -> EvalSet:
    """Load the question sets ``files`` and resolve what they run against (module docstring);
    the keyword arguments are the command-line overrides."""
    headers = [h for h in (read_header(f) for f in files) if h is not None]
    questions = load_questions(files)
    header_corpus = _agreed([h.corpus for h in headers if h.corpus], "corpora", files)
    header_thresholds = _agreed([h.thresholds for h in headers if h.thresholds], "thresholds", files)
    header_labels = _agreed([tuple(h.judge_labels) for h in headers if h.judge_labels is not None],
                            "judge labels", files)

    corpus_dir = corpus or (header_corpus if isinstance(header_corpus, Path) else settings.corpus_dir)
    configured_corpus = _same(corpus_dir, settings.corpus_dir)
    index = index_dir or index_dir_for(corpus_dir, settings)
    if not (configured_corpus and _same(index, settings.index_dir)):
        settings = settings.for_corpus(corpus_dir, index)
    if labels is None:
        if isinstance(header_labels, tuple):
            labels = list(header_labels)
        else:  # the default samples' phrases name passages of the configured corpus only
            labels = list(ev.DEFAULT_LABELS) if configured_corpus else []
    return EvalSet(
        files=list(files),
        questions=questions,
        settings=settings,
        thresholds=thresholds or (header_thresholds if isinstance(header_thresholds, Path) else ev.DEFAULT_THRESHOLDS),
        judge_labels=list(labels),
    )
