#!/usr/bin/env python3
"""Build the `rc` eval set from the CMRC 2018 *trial* split (never dev or test).

Source: ymcui/cmrc2018, squad-style-data/cmrc2018_trial.json at the commit in sources.toml
(CC BY-SA 4.0, see README.md). The JSON is read from --source FILE, from a local git mirror of
the repository (--mirror DIR), or downloaded from raw.githubusercontent.com, and checked against
the sha256 in sources.toml.

What it writes (deterministic for a given --seed):
  corpus/<article id>.txt   one document per kept article: the title on the first line, then the context
  tuning.jsonl              half of the articles (kept and left out alike), with a header line
  heldout.jsonl             the other half; a held-out article's questions are all held out

Selection: the articles are shuffled with the seed and the first --articles are chosen; a fifth
of those are LEFT OUT of the corpus and their questions become unanswerable (answerable false,
type "unanswerable", no gold or key facts), unless the answer string occurs in a kept article
(then the question is skipped), up to --max-unanswerable in all. Answerable questions (at most --per-article per article) get:
  gold       the sentence of the context that holds the answer span if it is 10-30 characters,
             else a 10-30 character span of that sentence around the answer, widened until it is
             unique in the corpus; copied verbatim
  key_facts  [[the answer and the other given answers]]
  type       "direct"
Questions whose answer is longer than --max-answer characters, or is the whole sentence, are skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAW = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
SENTENCE_END = "。！？!?；;\n"
MIN_GOLD, MAX_GOLD = 10, 30


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def read_source(args: argparse.Namespace, src: dict) -> bytes:
    if args.source:
        return args.source.read_bytes()
    if args.mirror:
        owner, name = src["repo"].split("/")
        for candidate in (args.mirror / f"{owner}+{name}" / "repo", args.mirror / f"{owner}+{name}", args.mirror / owner / name, args.mirror / name):
            git_dir = candidate if (candidate / "objects").is_dir() else candidate / ".git"
            if git_dir.exists():
                return subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "blob", f"{src['commit']}:{src['path']}"],
                                      check=True, capture_output=True).stdout
        raise SystemExit(f"no mirror of {src['repo']} under {args.mirror}")
    url = RAW.format(repo=src["repo"], commit=src["commit"], path=src["path"])
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (fixed https host)
        return response.read()


def sentence_bounds(context: str, start: int, end: int) -> tuple[int, int]:
    left = start
    while left > 0 and context[left - 1] not in SENTENCE_END:
        left -= 1
    right = end
    while right < len(context) and context[right] not in SENTENCE_END:
        right += 1
    if right < len(context) and context[right] not in "\n":
        right += 1  # keep the sentence's own punctuation
    return left, right


def gold_for(context: str, start: int, end: int, corpus_squashed: list[str]) -> str | None:
    """A verbatim span of the answer's sentence, 10-30 characters where possible, unique in the corpus."""
    s_left, s_right = sentence_bounds(context, start, end)
    sentence = context[s_left:s_right].strip()
    if squash(sentence) == squash(context[start:end]):
        return None  # the answer is the whole sentence
    candidates = []
    if MIN_GOLD <= len(sentence) <= MAX_GOLD:
        candidates.append((s_left, s_right))
    answer_len = end - start
    for width in range(max(MIN_GOLD, answer_len + 4), MAX_GOLD + 1, 2):
        pad = width - answer_len
        left = max(s_left, start - pad // 2)
        right = min(s_right, left + width)
        left = max(s_left, right - width)
        candidates.append((left, right))
    for left, right in candidates:
        phrase = context[left:right].strip().lstrip("，、；：）)」』").rstrip("，、（(「『").strip()
        if context[start:end] not in phrase:
            continue
        needle = squash(phrase)
        if len(needle) < 6:
            continue
        if sum(doc.count(needle) for doc in corpus_squashed) == 1:
            return phrase
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="a local copy of cmrc2018_trial.json")
    parser.add_argument("--mirror", type=Path, help="a folder of local git mirrors (DIR/ymcui+cmrc2018/repo, DIR/ymcui/cmrc2018, ...)")
    parser.add_argument("--seed", type=int, default=2018, help="seed of the article order and the split (default: %(default)s)")
    parser.add_argument("--articles", type=int, default=190, help="articles chosen (default: %(default)s)")
    parser.add_argument("--left-out", type=float, default=0.2, help="share of chosen articles left out of the corpus (default: %(default)s)")
    parser.add_argument("--per-article", type=int, default=2, help="questions per article at most (default: %(default)s)")
    parser.add_argument("--second-share", type=float, default=0.2,
                        help="share of kept articles that get a second question (default: %(default)s)")
    parser.add_argument("--max-unanswerable", type=int, default=46, help="unanswerable questions at most (default: %(default)s)")
    parser.add_argument("--max-answer", type=int, default=25, help="longest answer kept, in characters (default: %(default)s)")
    args = parser.parse_args()

    src = tomllib.loads((HERE / "sources.toml").read_text(encoding="utf-8"))["source"]
    raw = read_source(args, src)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != src["sha256"]:
        raise SystemExit(f"sha256 of the source is {digest}, expected {src['sha256']}")
    articles = json.loads(raw)["data"]

    rng = random.Random(args.seed)
    order = sorted(articles, key=lambda a: a["id"])
    rng.shuffle(order)
    chosen = order[: args.articles]
    n_out = round(len(chosen) * args.left_out)
    left_out, kept = chosen[:n_out], chosen[n_out:]

    corpus = HERE / "corpus"
    corpus.mkdir(exist_ok=True)
    for stale in corpus.glob("*.txt"):
        stale.unlink()
    texts: dict[str, str] = {}
    for article in kept:
        context = article["paragraphs"][0]["context"]
        texts[article["id"]] = f"{article['title']}\n{context}\n"
        (corpus / f"{article['id']}.txt").write_text(texts[article["id"]], encoding="utf-8")
    corpus_squashed = [squash(t) for t in texts.values()]

    def answers_of(qa: dict) -> list[str]:
        seen: list[str] = []
        for answer in qa["answers"]:
            text = answer["text"].strip()
            if text and text not in seen:
                seen.append(text)
        return seen

    records: dict[str, list[dict]] = {}
    skipped = {"long": 0, "whole_sentence_or_no_unique_gold": 0, "answer_in_corpus": 0, "no_span": 0}
    second = set(a["id"] for a in rng.sample(kept, round(len(kept) * args.second_share)))
    for article in kept:
        context = article["paragraphs"][0]["context"]
        want = 2 if article["id"] in second else 1
        out: list[dict] = []
        for qa in article["paragraphs"][0]["qas"]:
            if len(out) >= min(want, args.per_article):
                break
            if not qa["question"].strip():
                continue
            answers = answers_of(qa)
            if not answers or len(answers[0]) > args.max_answer:
                skipped["long"] += 1
                continue
            first = qa["answers"][0]
            start = first["answer_start"]
            if context[start:start + len(first["text"])] != first["text"]:
                start = context.find(first["text"])
                if start < 0:
                    skipped["no_span"] += 1
                    continue
            end = start + len(first["text"])
            gold = gold_for(context, start, end, corpus_squashed)
            if gold is None:
                skipped["whole_sentence_or_no_unique_gold"] += 1
                continue
            out.append({"id": f"rc_{qa['id']}", "question": qa["question"].strip(), "answerable": True,
                        "gold": [gold], "key_facts": [[a for a in answers if len(a) <= args.max_answer] or answers[:1]],
                        "language": "zh", "type": "direct", "tags": [f"doc:{article['id']}"]})
        records[article["id"]] = out
    n_unanswerable = 0
    for article in left_out:
        out = []
        for qa in article["paragraphs"][0]["qas"]:
            if len(out) >= args.per_article or n_unanswerable >= args.max_unanswerable:
                break
            if not qa["question"].strip():
                continue
            answers = answers_of(qa)
            if not answers or len(answers[0]) > args.max_answer:
                skipped["long"] += 1
                continue
            if any(squash(a) in doc for a in answers for doc in corpus_squashed):
                skipped["answer_in_corpus"] += 1
                continue
            out.append({"id": f"rc_{qa['id']}", "question": qa["question"].strip(), "answerable": False,
                        "language": "zh", "type": "unanswerable", "tags": [f"doc:{article['id']}", "left-out"]})
            n_unanswerable += 1
        records[article["id"]] = out

    # split by article: kept and left-out articles are each halved, so both halves have both kinds
    halves: dict[str, list[dict]] = {"tuning": [], "heldout": []}
    for group in (kept, left_out):
        ids = [a["id"] for a in group]
        rng.shuffle(ids)
        for i, article_id in enumerate(ids):
            halves["tuning" if i % 2 == 0 else "heldout"].extend(records[article_id])
    about = ("CMRC 2018 trial split (ymcui/cmrc2018, CC BY-SA 4.0): Chinese Wikipedia articles, one document each; "
             "questions of left-out articles are unanswerable. Built by build.py; see README.md.")
    headers = {
        "tuning": {"about": "TUNING half. " + about, "corpus": "corpus", "thresholds": "thresholds.toml"},
        "heldout": {"about": "HELD-OUT half: run only whole, never read question by question to tune a rule. " + about,
                    "corpus": "corpus", "thresholds": "heldout_thresholds.toml"},
    }
    for side, rows in halves.items():
        rows.sort(key=lambda r: r["id"])
        with (HERE / f"{side}.jsonl").open("w", encoding="utf-8") as f:
            f.write(json.dumps({"eval_set": headers[side]}, ensure_ascii=False) + "\n")
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        n_unans = sum(not r["answerable"] for r in rows)
        print(f"{side}: {len(rows)} questions ({len(rows) - n_unans} answerable, {n_unans} unanswerable)")
    print(f"articles: {len(chosen)} chosen, {len(kept)} in corpus/, {len(left_out)} left out; skipped: {skipped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
