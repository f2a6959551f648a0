"""The local generator: real llama-cpp loading and streaming on a tiny GGUF written by the test,
and the real Qwen model whenever it is present (``assistant models pull``)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.answer.generate import GenerationRequest
from assistant.answer.generate.cancel import Cancellation
from assistant.answer.generate.gguf_models import MODELS, is_present, resolve_local_model
from assistant.answer.generate.usage import UsageMeter
from assistant.answer.retrieve import Retriever
from assistant.core.errors import GeneratorTimeoutError, ModelLoadError, RequestCancelledError, UnknownNameError
from tests.support import make_settings
from tests.tinygguf import write_tiny_gguf

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install -e '.[local]')")

from assistant.answer.generate.local import LocalGenerator  # noqa: E402


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def _request(max_tokens: int = 12) -> GenerationRequest:
    messages = [
        {"role": "system", "content": "只根据段落回答。"},
        {"role": "user", "content": "制造业单项冠军企业有多少家？"},
    ]
    return GenerationRequest(messages=messages, question="q", passages=[], max_tokens=max_tokens, temperature=0.0)


def test_tiny_model_loads_once_and_streams(tiny_gguf: Path) -> None:
    gen = LocalGenerator(tiny_gguf, threads=1, context=512)
    assert gen.name == "local:tiny"
    pieces = list(gen.stream(_request()))
    assert pieces and all(isinstance(p, str) for p in pieces)
    llm = gen._llm
    assert llm is not None
    # the second call reuses the loaded model and, at temperature 0, reproduces the output
    assert "".join(gen.stream(_request())) == "".join(pieces)
    assert gen._llm is llm


def test_tiny_model_via_settings_path(tiny_gguf: Path) -> None:
    gen = LocalGenerator.from_settings(make_settings(local_model=str(tiny_gguf), llm_threads=1, llm_context=512))
    assert gen.name == "local:tiny" and gen.threads == 1 and gen.context == 512
    assert isinstance(gen.generate(_request(4)), str)


def test_missing_model_file_says_how_to_get_it(tmp_path: Path) -> None:
    gen = LocalGenerator.from_settings(make_settings(models_dir=tmp_path, local_model="qwen2.5-0.5b"))
    with pytest.raises(ModelLoadError, match=r"does not exist; run `assistant models pull`"):
        gen.load()


def test_non_gguf_file_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a model at all")
    with pytest.raises(ModelLoadError, match="not a GGUF file"):
        LocalGenerator(bogus).load()


def test_truncated_gguf_fails_with_model_load_error(tiny_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(tiny_gguf.read_bytes()[:4096])
    with pytest.raises(ModelLoadError, match=r"llama.cpp could not load .*broken.gguf"):
        LocalGenerator(broken, threads=1, context=512).load()


def test_unknown_model_name_lists_choices(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="qwen2.5-1.5b"):
        resolve_local_model("qwen-9000", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_real_qwen_answers_from_the_passage(name: str, retriever: Retriever) -> None:
    """End to end with the real model: the right figure, cited, from the real report."""
    settings = make_settings(local_model=name)
    if not is_present(MODELS[name], settings.models_dir):
        pytest.skip(f"{name} is not in {settings.models_dir}; run `assistant models pull {name}`")
    from tests.support import make_assistant

    assistant = make_assistant(retriever.settings.model_copy(update={"local_model": name}), retriever)
    answer = assistant.ask("制造业单项冠军企业有多少家？", generator="local")
    assert answer.generator == f"local:{name}"
    assert not answer.refused, answer.draft
    assert "1557" in answer.answer
    assert any("1557" in c.text for c in answer.citations)
    assert answer.timings["first_token_ms"] <= answer.timings["total_ms"]


def test_a_cancelled_request_stops_and_the_model_keeps_working(tiny_gguf: Path) -> None:
    gen = LocalGenerator(tiny_gguf, threads=1, context=512)
    expected = "".join(gen.stream(_request(24)))
    cancel = Cancellation()
    pieces = []
    with pytest.raises(RequestCancelledError):
        for piece in gen.stream(replace(_request(24), cancel=cancel)):
            pieces.append(piece)
            cancel.cancel()
    assert len(pieces) == 1
    # already cancelled: nothing is evaluated, and the cancellation's own error is raised
    stopped = Cancellation()
    stopped.cancel(GeneratorTimeoutError("too slow"))
    with pytest.raises(GeneratorTimeoutError):
        list(gen.stream(replace(_request(24), cancel=stopped)))
    assert "".join(gen.stream(_request(24))) == expected


def test_the_abort_switch_stops_llama_decode_inside_native_code(tiny_gguf: Path) -> None:
    gen = LocalGenerator(tiny_gguf, threads=1, context=512)
    llm = gen.load()
    assert gen._abort is not None
    tokens = llm.tokenize("制造业单项冠军企业有多少家？".encode())
    gen._abort.set(True)
    with pytest.raises(RuntimeError, match="llama_decode returned 2"):
        llm.eval(tokens)
    gen._abort.set(False)
    llm.reset()
    llm.eval(tokens)  # runs again once the switch is off


def test_concurrent_first_requests_load_the_model_once(tiny_gguf: Path) -> None:
    gen = LocalGenerator(tiny_gguf, threads=1, context=512)
    with ThreadPoolExecutor(4) as pool:
        models = list(pool.map(lambda _: gen.load(), range(4)))
    assert all(m is models[0] for m in models)


@pytest.mark.slow
def test_real_model_stops_within_a_second_of_cancelling_during_the_prompt() -> None:
    """The prompt of a real question takes seconds to evaluate; a cancel lands inside it."""
    settings = make_settings(local_model="qwen2.5-0.5b")
    if not is_present(MODELS["qwen2.5-0.5b"], settings.models_dir):
        pytest.skip("qwen2.5-0.5b is not present; run `assistant models pull qwen2.5-0.5b`")
    gen = LocalGenerator.from_settings(settings)
    gen.load()
    cancel = Cancellation()
    long_prompt = "报告指出，新质生产力发展取得积极进展，科技创新能力持续增强。" * 60
    request = replace(_request(64), messages=[{"role": "user", "content": long_prompt + "请总结。"}], cancel=cancel)
    timer = threading.Timer(0.5, cancel.cancel)
    timer.start()
    started = time.perf_counter()
    with pytest.raises(RequestCancelledError):
        list(gen.stream(request))
    assert time.perf_counter() - started < 0.5 + 1.0
    assert gen.generate(_request(4))  # the model still answers afterwards


def _copying_request(grammar: str | None = None) -> GenerationRequest:
    evidence = "[1] 截至2030年6月，该市累计建成公共充电站2480座，培育低碳示范园区37个、零碳工厂112家。"
    messages = [
        {"role": "system", "content": "只根据资料回答，照抄资料原文，句末写资料编号。"},
        {"role": "user", "content": f"资料：\n{evidence}\n\n问题：累计建成了多少座公共充电站？"},
    ]
    return GenerationRequest(messages=messages, question="q", passages=[], max_tokens=48, temperature=0.0,
                             grammar=grammar)


def test_prompt_lookup_writes_what_one_token_at_a_time_writes(tiny_gguf: Path) -> None:
    plain = LocalGenerator(tiny_gguf, threads=1, context=512)
    drafting = LocalGenerator(tiny_gguf, threads=1, context=512, prompt_lookup=8)
    for _ in range(2):  # the second time the system prefix comes from the cache
        assert "".join(drafting.stream(_copying_request())) == "".join(plain.stream(_copying_request()))
    assert drafting._llm.draft_model is not None and plain._llm.draft_model is None


@pytest.mark.slow
def test_real_model_with_prompt_lookup_writes_the_same_answer_under_its_grammar() -> None:
    from assistant.answer.grammar import answer_grammar
    from assistant.answer.refusal import REFUSALS

    settings = make_settings(local_model="qwen2.5-0.5b")
    if not is_present(MODELS["qwen2.5-0.5b"], settings.models_dir):
        pytest.skip("qwen2.5-0.5b is not present; run `assistant models pull qwen2.5-0.5b`")
    path = resolve_local_model("qwen2.5-0.5b", settings.models_dir)
    grammar = answer_grammar(REFUSALS.values(), 1)
    usage_plain, usage_drafting = UsageMeter(), UsageMeter()
    plain = "".join(LocalGenerator(path, context=1024).stream(replace(_copying_request(grammar), usage=usage_plain)))
    drafted = "".join(LocalGenerator(path, context=1024, prompt_lookup=10).stream(
        replace(_copying_request(grammar), usage=usage_drafting)))
    assert drafted == plain  # the small model's own answer, whatever it copied
    assert usage_drafting.usage() == usage_plain.usage()  # the same tokens counted, prompt and answer
