"""Token usage: the local model's own counts (checked against llama.cpp's usage of the same completion
not streamed), counting for generators that report none (the local tokenizer, else an estimate), and
what answers carry. Real llama.cpp on a tiny GGUF written by the test, and the real Qwen models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answer.generate import GENERATORS, GenerationRequest, Generator
from assistant.answer.generate.gguf_models import MODELS, is_present, model_path
from assistant.answer.generate.usage import TokenCounter, UsageMeter, estimate_tokens
from assistant.answer.retrieve import Retriever
from assistant.core.types import Passage
from tests.support import make_assistant, make_settings
from tests.tinygguf import write_tiny_gguf

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install -e '.[local]')")

from assistant.answer.generate.local import LocalGenerator  # noqa: E402

QUESTION = "制造业单项冠军企业有多少家？"
MESSAGES = [
    {"role": "system", "content": "只根据段落回答。"},
    {"role": "user", "content": "制造业单项冠军企业有多少家？请简短回答。"},
]


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def qwen(name: str) -> Path:
    settings = make_settings()
    if not is_present(MODELS[name], settings.models_dir):
        pytest.skip(f"{name} is not in {settings.models_dir}; run `assistant models pull {name}`")
    return model_path(settings.models_dir, name)


def own_counts(generator: LocalGenerator, max_tokens: int) -> tuple[dict[str, int], str]:
    """llama.cpp's own usage of the completion, not streamed, and why it ended."""
    completion = generator.load().create_chat_completion(messages=MESSAGES, max_tokens=max_tokens, temperature=0.0)
    return completion["usage"], completion["choices"][0]["finish_reason"]


def streamed_counts(generator: LocalGenerator, max_tokens: int) -> UsageMeter:
    meter = UsageMeter()
    request = GenerationRequest(messages=MESSAGES, question="q", passages=[], max_tokens=max_tokens,
                                temperature=0.0, usage=meter)
    "".join(generator.stream(request))
    return meter


def test_the_local_model_counts_as_llama_cpp_does_when_it_stops_at_max_tokens(tiny_gguf: Path) -> None:
    generator = LocalGenerator(tiny_gguf)
    meter = streamed_counts(generator, 12)
    usage, finish = own_counts(generator, 12)
    assert finish == "length"
    assert (meter.prompt_tokens, meter.completion_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])
    assert meter.usage().counted == "model" and meter.calls == 1
    # a second request reuses the cached prompt prefix: the prompt still counts whole
    again = streamed_counts(generator, 12)
    assert again.prompt_tokens == usage["prompt_tokens"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_the_real_model_counts_as_llama_cpp_does_when_it_ends_its_answer(name: str) -> None:
    generator = LocalGenerator(qwen(name))
    meter = streamed_counts(generator, 200)
    usage, finish = own_counts(generator, 200)
    assert finish == "stop"  # ended by its end-of-turn token, which is not counted
    assert (meter.prompt_tokens, meter.completion_tokens) == (usage["prompt_tokens"], usage["completion_tokens"])


@pytest.mark.slow
def test_a_local_answer_carries_the_models_counts(retriever: Retriever) -> None:
    qwen("qwen2.5-0.5b")
    settings = retriever.settings.model_copy(update={"local_model": "qwen2.5-0.5b"})
    answer = make_assistant(settings, retriever).ask(QUESTION, generator="local")
    assert answer.usage is not None and answer.usage.counted == "model"
    assert answer.usage.prompt_tokens > 300  # the prompt holds the evidence
    assert 0 < answer.usage.completion_tokens <= settings.max_tokens


# ---- generators that report no counts -----------------------------------------------------------


@pytest.mark.slow
def test_the_tokenizer_counts_the_prompt_as_the_chat_template_lays_it_out() -> None:
    path = qwen("qwen2.5-0.5b")
    counter = TokenCounter(path)
    meter = UsageMeter()
    counter.count(meter, MESSAGES, "制造业单项冠军企业1557家[1]。")
    generator = LocalGenerator(path)
    usage, _ = own_counts(generator, 1)
    assert meter.prompt_tokens == usage["prompt_tokens"]  # what the model itself reads for these messages
    vocab = generator.load()
    assert meter.completion_tokens == len(vocab.tokenize("制造业单项冠军企业1557家[1]。".encode(), add_bos=False))
    assert meter.usage().counted == "tokenizer"


def test_without_a_model_file_counts_are_estimated(tmp_path: Path) -> None:
    meter = UsageMeter()
    TokenCounter(tmp_path / "absent.gguf").count(meter, MESSAGES, "1557家。")
    assert meter.usage().counted == "estimate"
    assert meter.prompt_tokens == estimate_tokens(MESSAGES[0]["content"]) + estimate_tokens(MESSAGES[1]["content"])
    assert meter.completion_tokens == estimate_tokens("1557家。") == 5  # four digits, 0.6 each for 家 and 。
    assert estimate_tokens("How many ports, 2025?") == 9  # three words, four digits, a comma, a question mark


def test_the_estimate_is_near_the_tokenizers_count(report_passages: list[Passage]) -> None:
    import llama_cpp

    vocab = llama_cpp.Llama(model_path=str(qwen("qwen2.5-0.5b")), vocab_only=True, verbose=False)
    texts = [p.text for p in report_passages] + ["How many single-item manufacturing champions are there?"]
    counted = [len(vocab.tokenize(t.encode(), add_bos=False)) for t in texts]
    estimated = [estimate_tokens(t) for t in texts]
    assert 0.85 < sum(estimated) / sum(counted) < 1.15
    assert all(abs(e - c) <= 0.3 * c for e, c in zip(estimated, counted, strict=True))


def test_an_answer_uses_the_least_exact_count_of_its_calls() -> None:
    meter = UsageMeter()
    assert meter.usage().counted == "none" and meter.usage().total_tokens == 0
    meter.record(100, 10, "model")
    meter.record(50, 5, "estimate")
    meter.record(20, 2, "tokenizer")
    assert meter.usage().model_dump() == {"prompt_tokens": 170, "completion_tokens": 17, "total_tokens": 187,
                                          "counted": "estimate"}


REWRITE = "农业方面有哪些举措？"
DRAFT = "制造业单项冠军企业1557家[1]。"


class SilentModel(Generator):
    """A language model that reports no counts (like an upstream without ``usage``)."""

    name = "silent"

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        yield DRAFT if request.passages else REWRITE  # no passages: the request to rewrite a follow-up


def test_answers_count_every_call_of_a_silent_generator_condensing_included(retriever: Retriever) -> None:
    assistant = make_assistant(retriever.settings, retriever, {**GENERATORS, "silent": lambda *_: SilentModel()})
    counter = assistant.generators.counter

    def written(text: str) -> int:
        meter = UsageMeter()
        counter.count(meter, [], text)
        return meter.completion_tokens

    plain = assistant.ask(QUESTION, generator="silent")
    follow = assistant.ask("那农业方面呢？", generator="silent",
                           history=[{"role": "user", "content": "工业方面有哪些举措？"},
                                    {"role": "assistant", "content": "……"}])
    extractive = assistant.ask(QUESTION, generator="extractive")
    for answer in (plain, follow, extractive):
        assert answer.usage is not None and answer.usage.counted in ("tokenizer", "estimate")
        assert answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
    assert plain.usage is not None and plain.usage.prompt_tokens > 100  # the prompt holds the evidence
    assert plain.usage.completion_tokens == written(DRAFT)
    assert follow.usage is not None and follow.draft in ("", DRAFT)  # "": refused before generating
    assert follow.usage.completion_tokens == written(REWRITE) + (written(DRAFT) if follow.draft else 0)
    assert extractive.usage is not None and extractive.usage.completion_tokens == written(extractive.draft) > 0
