"""Answer quality and speed per generator on evals/questions.jsonl, in one command.

    .venv/bin/python benchmarks/bench_answers.py --generator extractive
    .venv/bin/python benchmarks/bench_answers.py --generator local --local-model qwen2.5-0.5b --subset 24
    .venv/bin/python benchmarks/bench_answers.py --generator extractive --large 2000

``--large N`` also answers every question over a corpus of the report plus N synthetic passages
(report sentences recombined, seeded; indexed once into benchmarks/out/cache/) and prints the
evidence and generate time per answer on both, as a ratio against the report: sentence vectors
are computed at index time, so a larger corpus should not make an answer slower to generate.

Metrics (answerable questions unless said otherwise):
  key-fact accuracy   the answer contains one variant of every key fact
  right passage       some citation's passage contains a gold phrase
  citation precision  share of all citations whose passage contains a gold phrase
  false refusals      answerable questions refused
  refusal rate        unanswerable questions refused
  first token / total mean and median milliseconds per answer (all questions)

``--replay RUN.json`` re-checks the drafts a previous ``--json`` run saved with the current
retrieval and citation checker, without generating again (timings are the saved ones).

``--subset N`` takes a fixed sample (a quarter unanswerable, each kind spread evenly over the
file) so LLM runs fit in minutes; ``--json`` saves rows and totals.

Latency of the local model, side by side with a baseline configuration (one command; the two
assistants answer each question in turn, so both see the same load on a shared machine):

    .venv/bin/python benchmarks/bench_answers.py --generator local --subset 24 \
        --baseline-set evidence_sentences=8 --set evidence_sentences=5

``--set KEY=VALUE`` changes a setting of the measured run, ``--baseline-set`` of the baseline run
(any ``Settings`` field: evidence_sentences, llm_grammar, llm_threads, max_tokens, local_model, ...);
``--baseline RUN.json`` compares with a saved ``--json`` run instead. For a local generator each
answer also records its prompt tokens and the tokens llama.cpp had to prefill after reusing the
cached prefix (the fixed system message), and every answer the CPU time it took (all threads): CPU
time / threads estimates the wall time on a quiet machine. The table prints medians and each as a
ratio of the baseline's, and the totals the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.answer.generate import (  # noqa: E402
    GenerationRequest,
    Generator,
    GeneratorPool,  # noqa: E402
)
from assistant.assemble import build_assistant  # noqa: E402
from assistant.core.settings import Settings  # noqa: E402
from assistant.text.words import normalize  # noqa: E402


def _spread(items: list[dict], n: int) -> list[dict]:
    if n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def subset(rows: list[dict], n: int | None) -> list[dict]:
    """A fixed sample: a quarter unanswerable, each kind spread over the file."""
    if not n:
        return rows
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    k_un = min(len(unanswerable), max(1, n // 4))  # enough refusal cases to measure
    return _spread(answerable, n - k_un) + _spread(unanswerable, k_un)


def score(row: dict, answer) -> dict:  # type: ignore[no-untyped-def]
    text = normalize(answer.answer)
    gold = [normalize(g) for g in row.get("gold", [])]
    cited = [normalize(c.text) for c in answer.citations]
    good_cites = sum(any(g in c for g in gold) for c in cited)
    return {
        "id": row["id"], "answerable": row["answerable"], "refused": answer.refused,
        "key_fact": (
            all(any(normalize(v) in text for v in fact) for fact in row.get("key_facts", [])) and not answer.refused
        ),
        "right_passage": good_cites > 0, "citations": len(cited), "good_citations": good_cites,
        "first_token_ms": answer.timings.get("first_token_ms", answer.timings.get("total_ms", 0.0)),
        "total_ms": answer.timings.get("total_ms", 0.0), "generator": answer.generator, "answer": answer.answer,
        "evidence_ms": answer.timings.get("evidence_ms", 0.0), "generate_ms": answer.timings.get("generate_ms", 0.0),
        "draft": answer.draft, "dropped": answer.dropped,
    }


class Replay(Generator):
    """Streams the draft a previous run saved for the same question."""

    uses_llm = True

    def __init__(self, name: str, drafts: dict[str, str]) -> None:
        self.name = name
        self.drafts = drafts

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        yield self.drafts[request.question]


def summarize(results: list[dict]) -> dict:
    ans = [r for r in results if r["answerable"]]
    una = [r for r in results if not r["answerable"]]
    cites = sum(r["citations"] for r in ans)

    def stat(key: str) -> str:
        vals = [r[key] for r in results]
        return f"{statistics.mean(vals):.0f} / {statistics.median(vals):.0f}"

    return {
        "generator": results[0]["generator"] if results else "",
        "questions": f"{len(ans)} answerable + {len(una)} unanswerable",
        "key_fact_accuracy": round(sum(r["key_fact"] for r in ans) / max(1, len(ans)), 3),
        "right_passage": round(sum(r["right_passage"] for r in ans) / max(1, len(ans)), 3),
        "citation_precision": round(sum(r["good_citations"] for r in ans) / cites, 3) if cites else None,
        "false_refusals": f"{sum(r['refused'] for r in ans)}/{len(ans)}",
        "refusal_rate_unanswerable": round(sum(r["refused"] for r in una) / max(1, len(una)), 3),
        "first_token_ms_mean/median": stat("first_token_ms"),
        "total_ms_mean/median": stat("total_ms"),
    }


class PromptCounter:
    """Counts a local model's prompt tokens and the part it prefilled (after llama.cpp's prefix reuse).

    It wraps the ``llama_cpp.Llama.generate`` of a loaded local generator, which receives the whole
    tokenized prompt and keeps the tokens of the previous call in ``_input_ids``.
    """

    def __init__(self, generator: Generator) -> None:
        self.prompt = self.prefilled = 0
        llm = getattr(generator, "_llm", None)
        if llm is None:
            return
        generate = llm.generate

        def counted(tokens, *args, **kwargs):  # type: ignore[no-untyped-def]
            tokens = list(tokens)
            cached = 0
            for old, new in zip(llm._input_ids[: llm.n_tokens], tokens, strict=False):
                if old != new:
                    break
                cached += 1
            self.prompt, self.prefilled = len(tokens), len(tokens) - cached
            yield from generate(tokens, *args, **kwargs)

        llm.generate = counted

    def take(self) -> dict[str, int]:
        """The counts of the last answer (zero when no local model generated it)."""
        counts = {"prompt_tokens": self.prompt, "prefilled_tokens": self.prefilled}
        self.prompt = self.prefilled = 0
        return counts


def timed(assistant, row: dict) -> dict:  # type: ignore[no-untyped-def]
    """Score one answer and add the CPU time it took this process (all threads): on a shared machine
    wall time grows with the load, CPU time far less, so CPU time / threads estimates a quiet run."""
    cpu = time.process_time()
    result = score(row, assistant.ask(row["question"]))
    result["cpu_ms"] = (time.process_time() - cpu) * 1000
    return result


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs as settings overrides (pydantic converts the values)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"--set/--baseline-set takes KEY=VALUE, got {pair!r}")
        out[key] = value
    return out


def medians(results: list[dict]) -> dict[str, float]:
    """Median first token, total, prompt and prefilled tokens over all answers, and key-fact accuracy."""
    ans = [r for r in results if r["answerable"]]
    out = {key: float(statistics.median(r.get(key, 0) for r in results))
           for key in ("first_token_ms", "total_ms", "cpu_ms", "prompt_tokens", "prefilled_tokens")}
    out["key_fact_accuracy"] = round(sum(r["key_fact"] for r in ans) / max(1, len(ans)), 3)
    out["false_refusals"] = sum(r["refused"] for r in ans)
    return out


def side_by_side(base: list[dict], run: list[dict], base_name: str, run_name: str) -> str:
    """A table: each median for the baseline and the run, and the run as a ratio of the baseline."""
    b, r = medians(base), medians(run)
    lines = [f"| median over {len(run)} answers | {base_name} | {run_name} | ratio |", "|---|---|---|---|"]
    for key in b:
        ratio = f"{r[key] / b[key]:.2f}x" if b[key] else "-"
        lines.append(f"| {key} | {b[key]:g} | {r[key]:g} | {ratio} |")
    return "\n".join(lines)


def large_corpus_assistant(n: int, overrides: dict):  # type: ignore[no-untyped-def]
    """An assistant over the report plus ``n`` synthetic passages (built once, then cached)."""
    import random

    from assistant.answer.retrieve import Retriever
    from assistant.assemble import assistant_for
    from assistant.core.types import Passage
    from assistant.embed import load_embedder
    from assistant.ingest import load_corpus
    from assistant.ingest.passages import passage_sentences
    from assistant.storage.build import build_index
    from assistant.storage.index import index_exists, load_index

    base = Settings(**overrides)
    report = load_corpus(base.corpus_dir, base.chunk_max_chars)
    sentences = [s for p in report for s in passage_sentences(p)]
    rng = random.Random(20251129)
    synthetic = [Passage(id=f"synthetic#p{i:05d}", source="synthetic.md", section=f"合成 › 第{i}段",
                         text="".join(rng.sample(sentences, 3)), kind="paragraph") for i in range(n)]
    settings = base.model_copy(update={"index_dir": ROOT / "benchmarks" / "out" / "cache" / f"large-{n}"})
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    if not index_exists(settings):
        print(f"indexing the report + {n} synthetic passages (once; sentences too)...", file=sys.stderr)
        build_index(settings, embedder, report + synthetic, progress=True, fingerprint={})
    return assistant_for(settings, Retriever(load_index(settings, embedder.model_id), embedder, settings))


def stage_ms(results: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in results), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", default="extractive", choices=["extractive", "local", "openai"])
    parser.add_argument("--local-model", default=None, help="qwen2.5-1.5b, qwen2.5-0.5b or a GGUF path")
    parser.add_argument("--questions", type=Path, default=ROOT / "evals" / "questions.jsonl")
    parser.add_argument("--subset", type=int, default=None, help="fixed stratified sample of N questions")
    parser.add_argument("--index-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write rows and totals here")
    parser.add_argument("--replay", type=Path, default=None, help="re-check the drafts of a saved --json run")
    parser.add_argument("--large", type=int, default=None, metavar="N",
                        help="also answer over the report plus N synthetic passages; compare stage times")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting of this run")
    parser.add_argument("--baseline-set", action="append", default=None, metavar="KEY=VALUE",
                        help="run a baseline too, with these settings changed, each question in turn with this run")
    parser.add_argument("--baseline", type=Path, default=None, help="a saved --json run to compare with")
    args = parser.parse_args()

    overrides: dict = {"generator": args.generator, **parse_settings(args.set)}
    if args.local_model:
        overrides["local_model"] = args.local_model
    if args.index_dir:
        overrides["index_dir"] = args.index_dir
    rows = subset(
        [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()],
        args.subset,
    )
    saved: dict[str, dict] = {}
    if args.replay:
        saved = {r["id"]: r for r in json.loads(args.replay.read_text(encoding="utf-8"))["rows"]}
        rows = [r for r in rows if r["id"] in saved]
        drafts = {r["question"]: saved[r["id"]]["draft"] for r in rows}
        name = next(iter(saved.values()))["generator"]
        overrides["generator"] = "local"
        assistant = build_assistant(Settings(**overrides))
        assistant.generators = GeneratorPool(assistant.settings, {"local": lambda s, e: Replay(name, drafts)})
    else:
        assistant = build_assistant(Settings(**overrides), load_generator=True)
    counter = PromptCounter(assistant.generators.get())
    baseline = counted = None
    if args.baseline_set is not None:
        base_overrides = {**overrides, **parse_settings(args.baseline_set)}
        baseline = build_assistant(Settings(**base_overrides), load_generator=True)
        counted = PromptCounter(baseline.generators.get())
    results: list[dict] = []
    base_results: list[dict] = []
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    for i, row in enumerate(rows, 1):
        if baseline is not None and counted is not None:  # first, so neither run always follows the other's work
            base_results.append(timed(baseline, row) | counted.take())
        result = timed(assistant, row) | counter.take()
        if row["id"] in saved:  # replayed: the generation time is the saved run's
            result.update({k: saved[row["id"]][k] for k in ("first_token_ms", "total_ms")})
        results.append(result)
        print(f"[{i}/{len(rows)}] {row['id']} refused={result['refused']} fact={result['key_fact']} "
              f"cite={result['right_passage']} {result['first_token_ms']:.0f}/{result['total_ms']:.0f} ms "
              f"(cpu {result['cpu_ms']:.0f} ms) "
              f"prompt {result['prompt_tokens']} (prefilled {result['prefilled_tokens']}) | {result['answer'][:70]}",
              file=sys.stderr)
    totals = summarize(results)
    totals["load_average_before/after"] = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    totals["cpu_ms_median"] = medians(results)["cpu_ms"]
    totals["prompt_tokens_median"] = medians(results)["prompt_tokens"]
    totals["prefilled_tokens_median"] = medians(results)["prefilled_tokens"]
    totals["wall_s"] = round(time.perf_counter() - started, 1)
    if args.large:
        big = large_corpus_assistant(args.large, overrides)
        big_results = [score(row, big.ask(row["question"])) for row in rows]
        passages = len(big.retriever.passages)
        for key in ("evidence_ms", "generate_ms"):
            here, there = stage_ms(results, key), stage_ms(big_results, key)
            totals[f"{key}_median report / {passages} passages"] = f"{here} / {there} ({there / max(here, 0.1):.2f}x)"
        totals[f"key_fact_accuracy on {passages} passages"] = summarize(big_results)["key_fact_accuracy"]
    print(json.dumps(totals, ensure_ascii=False, indent=2))
    if baseline is not None:
        print(side_by_side(base_results, results, "baseline " + " ".join(args.baseline_set or []) or "baseline",
                           "this run " + " ".join(args.set)))
    elif args.baseline:
        saved_rows = json.loads(args.baseline.read_text(encoding="utf-8"))["rows"]
        ids = {r["id"] for r in results}
        print(side_by_side([r for r in saved_rows if r["id"] in ids], results, str(args.baseline),
                           "this run " + " ".join(args.set)))
    if args.json:
        saved_run = {"totals": totals, "rows": results, "baseline_rows": base_results}
        args.json.write_text(json.dumps(saved_run, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
