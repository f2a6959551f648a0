"""Writing an eval's results: ``results.json`` (records + aggregates), ``report.md`` (tables)
and ``chart.png`` (metrics per question type, generators side by side)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.runner import Run, noise_deltas
from assistant.evaluation.thresholds import Failure

#: metrics in table order, with the label the report shows
METRICS: dict[str, str] = {
    "recall_at_1": "retrieval recall@1",
    "recall_at_5": "retrieval recall@5",
    "mrr": "retrieval MRR",
    "key_fact_accuracy": "key-fact accuracy (all facts)",
    "key_fact_partial": "key facts stated (share)",
    "negative_rejection": "refusal on unanswerable (negative rejection)",
    "false_refusal_rate": "false refusals on answerable",
    "citation_recall": "citation recall (ALCE)",
    "citation_precision": "citation precision (ALCE)",
    "cites_gold_rate": "answers citing the gold passage",
    "leak_rate": "answers saying injected content",
}
#: the per-type chart shows these (each applies to some question types only)
#: failing questions listed per generator in report.md (all of them are in results.json)
MAX_FAILURES_SHOWN = 12
CHART_METRICS = ("key_fact_accuracy", "recall_at_5", "citation_recall", "negative_rejection")


def build_results(runs: Sequence[Run], meta: Mapping[str, Any], failures: Sequence[Failure]) -> dict[str, Any]:
    """The JSON document: metadata, per-run aggregates (overall, per type, per language),
    noise deltas, threshold failures and every per-question record."""
    return {
        "meta": dict(meta),
        "runs": [
            {
                "generator": r.generator,
                "noise": r.noise,
                "overall": r.overall(),
                "by_type": r.by_type(),
                "by_language": r.by_language(),
                "records": r.records,
            }
            for r in runs
        ],
        "noise_deltas": noise_deltas(runs),
        "threshold_failures": [str(f) for f in failures],
    }


def combine(documents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One results document from several (e.g. two local models, which need two invocations
    because the model is a setting): runs side by side, metadata and failures kept per source."""
    if not documents:
        raise ValueError("nothing to combine")
    first = documents[0]
    return {
        "meta": {**first["meta"], "combined_from": [d["meta"] for d in documents]},
        "runs": [run for d in documents for run in d["runs"]],
        "noise_deltas": {g: v for d in documents for g, v in d["noise_deltas"].items()},
        "threshold_failures": [f for d in documents for f in d["threshold_failures"]],
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def markdown(results: Mapping[str, Any]) -> str:
    """The Markdown report: overall table (generators side by side), per-type tables, latency,
    noise deltas, threshold failures and the judge's calibration."""
    runs = results["runs"]
    clean = [r for r in runs if r["noise"] == 0]
    meta = results["meta"]
    out = [f"# Eval report ({meta.get('started', '')})", ""]
    out += [f"Questions: {meta.get('questions')} from {', '.join(meta.get('files', []))}. "
            f"Judge: {meta.get('judge', {}).get('summary', 'n/a')}.", ""]
    out += ["## Overall", ""]
    out += _table(["metric", *(r["generator"] for r in clean)],
                  [[label, *(_fmt(r["overall"][m]) for r in clean)] for m, label in METRICS.items()]
                  + [["questions / errors", *(f"{r['overall']['n']} / {r['overall']['errors']}" for r in clean)]])
    for r in clean:
        types = list(r["by_type"])
        out += ["", f"## Per question type: {r['generator']}", ""]
        out += _table(["metric", *types], [[METRICS[m], *(_fmt(r["by_type"][t][m]) for t in types)] for m in METRICS]
                      + [["n", *(str(r["by_type"][t]["n"]) for t in types)]])
    out += ["", "## Latency (ms, p50 / p95)", ""]
    stages = sorted({s for r in clean for s in r["overall"]["latency_ms"]})
    out += _table(["stage", *(r["generator"] for r in clean)],
                  [[s, *(_latency(r["overall"]["latency_ms"].get(s)) for r in clean)] for s in stages])
    if results["noise_deltas"]:
        out += ["", "## Noise robustness (noisy − clean)", ""]
        cols = [(g, lvl) for g, lv in results["noise_deltas"].items() for lvl in lv]
        out += _table(["metric", *(f"{g} {lvl}" for g, lvl in cols)],
                      [[label, *(_fmt(results["noise_deltas"][g][lvl].get(m)) for g, lvl in cols)]
                       for m, label in METRICS.items()])
    for r in clean:
        failed = [(rec, why) for rec in r["records"] if (why := failure_reason(rec))]
        out += [
            "",
            f"## Failures: {r['generator']} ({len(failed)} of {len(r['records'])}; first {MAX_FAILURES_SHOWN})",
            "",
        ]
        out += _table(["id", "type", "why", "answer"],
                      [[rec["id"], rec["type"], why, _excerpt(rec.get("answer", ""))]
                       for rec, why in failed[:MAX_FAILURES_SHOWN]])
    out += ["", "## Thresholds", ""]
    out += [f"- {f}" for f in results["threshold_failures"]] or ["All thresholds met."]
    return "\n".join(out) + "\n"


def failure_reason(rec: Mapping[str, Any]) -> str:
    """Why a record counts as a failure ('' when it does not): error, wrong refusal, missing
    facts, or sentences the judge finds unsupported."""
    if "error" in rec:
        return f"error: {rec['error']}"
    reasons = []
    if rec["answerable"] and rec["refused"]:
        # the pipeline refuses before generating when retrieval looks irrelevant
        stage = "after generation" if "generate_ms" in rec.get("timings", {}) else "at retrieval (low relevance)"
        reasons.append(f"refused an answerable question {stage}")
    elif rec["answerable"] and not rec.get("facts_all", True):
        missing = [i + 1 for i, ok in enumerate(rec.get("facts_found", [])) if not ok]
        reasons.append(f"key fact(s) {missing} missing")
    if not rec["answerable"] and not rec["refused"]:
        reasons.append("answered an unanswerable question")
    if rec.get("citation_recall") is not None and rec["citation_recall"] < 1:
        reasons.append(f"citation recall {rec['citation_recall']:.2f}")
    return "; ".join(reasons)


def _excerpt(text: str, n: int = 70) -> str:
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= n else flat[:n] + "…"


def _latency(entry: Mapping[str, float | None] | None) -> str:
    if not entry:
        return "–"
    return f"{_fmt_ms(entry['p50'])} / {_fmt_ms(entry['p95'])}"


def _fmt_ms(v: float | None) -> str:
    return "–" if v is None else f"{v:.0f}"


def chart(results: Mapping[str, Any], path: Path) -> None:
    """Grouped bars: one panel per metric, question types on the x axis, one bar per generator."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    clean = [r for r in results["runs"] if r["noise"] == 0]
    types = list(dict.fromkeys(t for r in clean for t in r["by_type"]))
    fig, axes = plt.subplots(1, len(CHART_METRICS), figsize=(4.2 * len(CHART_METRICS), 3.8), sharey=True)
    width = 0.8 / max(1, len(clean))
    for ax, metric in zip(axes, CHART_METRICS, strict=True):
        for i, r in enumerate(clean):
            vals = [r["by_type"].get(t, {}).get(metric) for t in types]
            xs = [j + i * width - 0.4 + width / 2 for j in range(len(types))]
            ax.bar(xs, [v if v is not None else 0 for v in vals], width, label=r["generator"])
            for x, v in zip(xs, vals, strict=True):
                # a zero bar and a metric that does not apply look alike: label both
                ax.text(x, (v or 0) + 0.02, "n/a" if v is None else f"{v:.2f}", ha="center", fontsize=6, rotation=90)
        ax.set_title(METRICS[metric], fontsize=9)
        ax.set_xticks(range(len(types)), types, rotation=40, ha="right", fontsize=8)
        ax.set_ylim(0, 1.2)
    axes[0].legend(fontsize=8)
    fig.suptitle("metrics per question type (n/a: the metric does not apply to that type)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_all(results: Mapping[str, Any], out_dir: Path) -> list[Path]:
    """Write results.json, report.md and chart.png into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "report.md", out_dir / "chart.png"]
    paths[0].write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    paths[1].write_text(markdown(results), encoding="utf-8")
    chart(results, paths[2])
    return paths
