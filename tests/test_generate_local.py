"""The local generator: real llama-cpp loading and streaming on a tiny GGUF written by the test,
and the real Qwen model whenever it is present (``assistant models pull``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import ModelLoadError, UnknownNameError
from assistant.generate import GenerationRequest
from assistant.generate.gguf_models import MODELS, is_present, resolve_local_model
from assistant.retrieve import Retriever
from tests.support import make_settings
from tests.tinygguf import write_tiny_gguf

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (pip install -e '.[local]')")

from assistant.generate.local import LocalGenerator  # noqa: E402


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
