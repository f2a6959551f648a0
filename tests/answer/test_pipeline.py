"""The answer pipeline over the real retriever: validation, event order, generator registry,
citation repair wired in, refusals, follow-up rewriting, noise, the JSON contract.

LLM behaviour is exercised with the tiny real GGUF (nonsense output, so it must be refused) and
with ``ScriptedGenerator``, a complete generator registered through the real registry that
writes a fixed draft: the pipeline's treatment of a given draft is what is under test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.answer.condense import condense_rule, core_topic, history_text, is_followup, needs_context
from assistant.answer.generate import GenerationRequest, Generator
from assistant.answer.generate.extractive import ExtractiveGenerator
from assistant.answer.pipeline import Assistant
from assistant.answer.retrieve import Retriever
from assistant.core.errors import InvalidInputError, UnknownNameError
from assistant.core.settings import Settings
from assistant.core.types import AnswerEvent, SourcesEvent, TokenEvent
from assistant.embed import Embedder
from tests.support import make_assistant


class ScriptedGenerator(Generator):
    """An LLM stand-in that streams ``draft`` in small pieces and answers condense requests
    (which carry no passages) with ``rewrite``."""

    uses_llm = True

    def __init__(self, draft: str, rewrite: str = "") -> None:
        self.name = "scripted"
        self.draft = draft
        self.rewrite = rewrite
        self.requests: list[GenerationRequest] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        self.requests.append(request)
        text = self.rewrite if not request.passages else self.draft
        for i in range(0, len(text), 4):
            yield text[i : i + 4]


@pytest.fixture(scope="module")
def settings(retriever: Retriever) -> Settings:
    return retriever.settings.model_copy(update={"generator": "extractive"})


@pytest.fixture(scope="module")
def assistant(settings: Settings, retriever: Retriever) -> Assistant:
    return make_assistant(settings, retriever)


def _with(settings: Settings, retriever: Retriever, gen: Generator, **updates: Any) -> Assistant:
    return make_assistant(settings.model_copy(update=updates), retriever,
                     {"scripted": lambda s, e: gen, "extractive": lambda s, e: ExtractiveGenerator(e)})


# ---- input validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "the question is empty"), ("   \n\t ", "the question is empty"),
     ("问" * 10_000, "10000 characters long; the limit is 2000 characters")],
)
def test_bad_questions_get_clear_errors(assistant: Assistant, question: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message) as info:
        assistant.ask(question)
    assert info.value.http_status == 422 and info.value.exit_code == 2
    with pytest.raises(InvalidInputError, match=message):
        assistant.search(question)
    with pytest.raises(InvalidInputError, match=message):
        assistant.stream(question)  # raised on the call, before any event is consumed


@pytest.mark.parametrize("k", [0, 21, -1, True, 2.5])
def test_k_out_of_range_states_the_bound(assistant: Assistant, k: object) -> None:
    with pytest.raises(InvalidInputError, match="k must be a whole number from 1 to 20"):
        assistant.ask("制造业单项冠军企业有多少家？", k=k)  # type: ignore[arg-type]


def test_unknown_generator_lists_choices(assistant: Assistant) -> None:
    with pytest.raises(
        UnknownNameError, match=r"unknown generator 'gpt-9'; choose one of: auto, local, openai, extractive"
    ):
        assistant.ask("制造业单项冠军企业有多少家？", generator="gpt-9")


# ---- the stream ------------------------------------------------------------------------------


def test_events_come_in_order_and_ask_matches(assistant: Assistant) -> None:
    events = list(assistant.stream("制造业单项冠军企业有多少家？", k=4))
    assert isinstance(events[0], SourcesEvent) and len(events[0].hits) == 4
    assert isinstance(events[-1], AnswerEvent)
    tokens = [e for e in events if isinstance(e, TokenEvent)]
    assert tokens and "".join(t.text for t in tokens) == events[-1].answer.draft
    assert isinstance(events[-1], AnswerEvent)
    answer = events[-1].answer
    assert set(answer.timings) >= {"retrieve_ms", "generate_ms", "first_token_ms", "check_ms", "total_ms"}
    assert answer.timings["first_token_ms"] <= answer.timings["total_ms"]
    again = assistant.ask("制造业单项冠军企业有多少家？", k=4)
    assert again.answer == answer.answer and (
        [c.passage_id for c in again.citations] == [c.passage_id for c in answer.citations]
    )


def test_json_contract(assistant: Assistant) -> None:
    data = assistant.ask("制造业单项冠军企业有多少家？").to_json()
    assert set(data) >= {"question", "answer", "refused", "generator", "citations", "timings"}
    assert set(data["citations"][0]) == {"marker", "passage_id", "title", "section", "source", "text", "score",
                                         "evidence", "location"}
    assert data["citations"][0]["location"]["lines"]  # the report is a text file: where its lines stand
    assert data["citations"][0]["title"]  # the document's own title
    assert any("1557" in s for s in data["citations"][0]["evidence"])  # the sentence the answer rests on
    assert data["citations"][0]["marker"] == 1


def test_generators_are_built_once(settings: Settings, retriever: Retriever) -> None:
    built: list[str] = []

    def factory(s: Settings, e: Embedder | None) -> Generator:
        built.append("x")
        return ExtractiveGenerator(e)

    assistant = make_assistant(settings, retriever, {"extractive": factory})
    assistant.ask("制造业单项冠军企业有多少家？")
    assistant.ask("工业互联网覆盖了多少个工业大类？")
    assert built == ["x"]
    assert assistant.generators.default == "extractive"  # 'auto' without 'local' registered


# ---- citation checking in the pipeline --------------------------------------------------------


def test_llm_draft_is_checked_repaired_and_pruned(settings: Settings, retriever: Retriever) -> None:
    gen = ScriptedGenerator("制造业单项冠军企业1557家[3]。2025年GDP增长率是6.5%[1]。")
    assistant = _with(settings, retriever, gen, generator="scripted")
    answer = assistant.ask("制造业单项冠军企业有多少家？")
    assert answer.answer == "制造业单项冠军企业1557家[1]。"
    assert "1557" in answer.citations[0].text and len(answer.citations) == 1
    assert answer.dropped == ["2025年GDP增长率是6.5%[1]。"]
    assert answer.prompt["name"] == "answer" and len(answer.prompt["sha256"]) == 64
    # the LLM saw numbered evidence sentences from context_passages passages, not whole passages
    request = gen.requests[-1]
    assert len(request.passages) == settings.context_passages
    assert len(request.evidence) == settings.evidence_sentences
    assert {e.passage.id for e in request.evidence} <= {p.id for p in request.passages}
    assert "[1] " in request.messages[1]["content"] and "1557" in request.messages[1]["content"]
    assert answer.citations[0].evidence == [e.text for e in request.evidence if "1557" in e.text]


def test_invented_answer_becomes_a_refusal(settings: Settings, retriever: Retriever) -> None:
    gen = ScriptedGenerator("2025年我国GDP增长率是6.5%[1]。")
    answer = _with(settings, retriever, gen, generator="scripted").ask("2025年我国GDP增长率是多少？")
    assert answer.refused and answer.answer == "报告中没有提到这一点。" and answer.citations == []
    assert answer.draft == "2025年我国GDP增长率是6.5%[1]。"


def test_figure_question_without_a_figure_is_refused(settings: Settings, retriever: Retriever) -> None:
    gen = ScriptedGenerator("超导量子计算机实现量子优越性验证[1]。")
    answer = _with(settings, retriever, gen, generator="scripted").ask(
        "超导量子计算机实现量子优越性验证用了多少个量子比特？"
    )
    assert answer.refused and answer.citations == []


def test_true_figure_about_something_else_is_refused(settings: Settings, retriever: Retriever) -> None:
    # the figure is in the passage, but it counts innovation centres, not national laboratories
    gen = ScriptedGenerator("根据第1段，我国目前共有11家国家新兴产业创新中心。")
    answer = _with(settings, retriever, gen, generator="scripted").ask("我国目前共有多少个国家实验室？")
    assert answer.refused and answer.citations == []


def test_irrelevant_question_is_refused_before_generation(settings: Settings, retriever: Retriever) -> None:
    gen = ScriptedGenerator("不应被调用[1]。")
    assistant = _with(
        settings, retriever, gen, generator="scripted", min_relevance=0.99, min_relevance_crosslingual=0.99
    )
    events = list(assistant.stream("What is the capital of France?"))
    # the question was only put into the reports' language for the search: no answer was generated
    assert not any(isinstance(e, TokenEvent) for e in events) and not any(r.passages for r in gen.requests)
    assert isinstance(events[-1], AnswerEvent)
    answer = events[-1].answer
    assert answer.refused and answer.answer == "The reports do not say." and answer.language == "en"


def test_tiny_real_llm_output_is_refused(settings: Settings, retriever: Retriever, tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    from assistant.answer.generate.local import LocalGenerator
    from tests.tinygguf import write_tiny_gguf

    # byte-level vocabulary: Chinese costs ~3 tokens a character, so the prompt needs a wide window
    model = write_tiny_gguf(tmp_path / "tiny.gguf", context=8192)
    assistant = make_assistant(settings.model_copy(update={"max_tokens": 16, "generator": "local"}), retriever,
                          {"local": lambda s, e: LocalGenerator(model, threads=1, context=8192)})
    events = list(assistant.stream("制造业单项冠军企业有多少家？", generator="local"))
    assert isinstance(events[-1], AnswerEvent)
    answer = events[-1].answer
    assert answer.generator == "local:tiny"
    assert any(isinstance(e, TokenEvent) for e in events)
    assert answer.refused and answer.citations == []  # random weights support nothing


# ---- follow-ups and noise ---------------------------------------------------------------------


HISTORY = [{"role": "user", "content": "报告对工业方面提出了哪些举措？"}, {"role": "assistant", "content": "……"}]


def test_condense_rule() -> None:
    assert is_followup("那农业方面呢？") and not is_followup("农业科技进步贡献率达到了多少？")
    assert core_topic("那农业方面呢？") == "农业"
    assert condense_rule("那农业方面呢？", HISTORY) == "报告对农业方面提出了哪些举措？"
    assert condense_rule("农业科技进步贡献率达到了多少？", HISTORY) == "农业科技进步贡献率达到了多少？"
    assert (
        condense_rule("那人才呢？", [{"role": "user", "content": "报告如何支持科技创新？"}])
        == "关于人才，报告如何支持科技创新？"
    )
    en = [{"role": "user", "content": "What does the report say about industry?"}]
    assert condense_rule("What about agriculture?", en) == "What does the report say about agriculture?"
    assert condense_rule("那农业方面呢？", []) == "那农业方面呢？"
    assert needs_context("它的规模有多大？") and needs_context("那农业方面呢？")
    assert not needs_context("工业互联网覆盖了多少个工业大类？")


def test_the_condense_prompt_holds_a_bounded_history() -> None:
    long_history = [{"role": "user", "content": "工业方面有哪些进展？"},
                    {"role": "assistant", "content": "答" * 9000}] * 10  # a 90 KB conversation
    text = history_text(long_history)
    assert len(text.splitlines()) == 6 and len(text) < 6 * 320
    assert text.splitlines()[0] == "user: 工业方面有哪些进展？" and text.endswith("…")


def test_standalone_question_skips_the_llm_rewrite(settings: Settings, retriever: Retriever) -> None:
    gen = ScriptedGenerator("工业互联网实现41个工业大类全覆盖[1]。", rewrite="不应使用")
    events = list(
        _with(settings, retriever, gen, generator="scripted")
        .stream("工业互联网覆盖了多少个工业大类？", history=HISTORY)
    )
    assert isinstance(events[0], SourcesEvent) and events[0].query == "工业互联网覆盖了多少个工业大类？"
    assert all(r.passages for r in gen.requests)  # no condense request was made


def test_follow_up_is_rewritten_before_retrieval_without_llm(assistant: Assistant) -> None:
    events = list(assistant.stream("那农业方面呢？", history=HISTORY))
    sources = events[0]
    assert isinstance(sources, SourcesEvent) and sources.query == "报告对农业方面提出了哪些举措？"
    assert "农业" in sources.hits[0].passage.text


def test_follow_up_is_rewritten_by_the_llm_when_one_is_used(settings: Settings, retriever: Retriever) -> None:
    gen = ScriptedGenerator(
        "农业科技进步贡献率达63.2%[1]。", rewrite="农业科技进步贡献率是多少？\n(extra line ignored)"
    )
    assistant = _with(settings, retriever, gen, generator="scripted")
    events = list(
        assistant.stream("那农业呢？", history=[{"role": "user", "content": "工业互联网覆盖了多少个工业大类？"}])
    )
    assert isinstance(events[0], SourcesEvent) and events[0].query == "农业科技进步贡献率是多少？"
    assert gen.requests[0].passages == [] and "工业互联网" in gen.requests[0].messages[1]["content"]
    assert isinstance(events[-1], AnswerEvent) and "63.2%" in events[-1].answer.answer


def test_noise_adds_seeded_unretrieved_passages(assistant: Assistant) -> None:
    q = "制造业单项冠军企业有多少家？"
    plain = assistant.ask(q, k=3)
    noisy = assistant.ask(q, k=3, noise=2)
    noisy_again = assistant.ask(q, k=3, noise=2)
    retrieved = [p.passage_id for p in plain.passages]
    extra = [p.passage_id for p in noisy.passages][3:]
    assert len(extra) == 2 and not set(extra) & set(retrieved)
    assert [p.passage_id for p in noisy_again.passages] == [p.passage_id for p in noisy.passages]
    assert "1557" in noisy.answer
    with pytest.raises(InvalidInputError, match="noise must be a whole number from 0"):
        assistant.ask(q, noise=-1)


# ---- the ask command ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(built_index_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI's settings (read from the environment) at the session index."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(built_index_settings.index_dir))
    monkeypatch.setenv("ASSISTANT_GENERATOR", "extractive")


def test_ask_json(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from assistant.cli import main

    assert main(["ask", "--json", "-k", "3", "制造业单项冠军企业有多少家？"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "1557" in data["answer"] and data["generator"] == "extractive" and data["refused"] is False
    assert "1557" in data["citations"][0]["text"]


def test_ask_streams_then_prints_sources(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    assert main(["ask", "工业互联网覆盖了多少个工业大类？"]) == 0
    captured = capsys.readouterr()
    assert "41个工业大类" in captured.err  # the streamed draft
    assert "41个工业大类全覆盖[1]" in captured.out and "\n[1] " in captured.out


def test_ask_bad_input_exit_code(cli_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    from assistant.cli import main

    assert main(["ask", "   "]) == 2
    assert "error: the question is empty" in capsys.readouterr().err


def test_an_english_question_is_searched_for_in_the_reports_language(settings: Settings, retriever: Retriever) -> None:
    """Over Chinese reports an LLM generator's translation is what retrieval and evidence use; the
    answer still follows the question's language, and the question's own words are judged."""
    gen = ScriptedGenerator("The industrial internet covers 41 major industrial categories [1].",
                            rewrite="工业互联网覆盖了多少个工业大类？")
    events = list(_with(settings, retriever, gen, generator="scripted")
                  .stream("How many industrial categories does the industrial internet cover?"))
    sources, answer = events[0], events[-1]
    assert isinstance(sources, SourcesEvent) and sources.query == "工业互联网覆盖了多少个工业大类？"
    assert any("41个工业大类" in h.passage.text for h in sources.hits[:3])
    assert isinstance(answer, AnswerEvent) and answer.answer.language == "en"
    assert "translate_ms" in answer.answer.timings
    assert [r.passages for r in gen.requests][0] == []  # one translation request, then the answer


@pytest.mark.parametrize(("question", "rewrite"), [
    ("工业互联网覆盖了多少个工业大类？", "How many?"),  # asked in the reports' language: nothing to translate
    ("How many industrial categories does the industrial internet cover?", "How many categories?"),  # not Chinese
    ("How many industrial categories does the industrial internet cover?", ""),  # nothing
])
def test_no_usable_translation_searches_the_question_as_asked(settings: Settings, retriever: Retriever,
                                                              question: str, rewrite: str) -> None:
    gen = ScriptedGenerator("工业互联网实现41个工业大类全覆盖[1]。", rewrite=rewrite)
    events = list(_with(settings, retriever, gen, generator="scripted").stream(question))
    assert isinstance(events[0], SourcesEvent) and events[0].query == question
    assert isinstance(events[-1], AnswerEvent) and "translate_ms" not in events[-1].answer.timings
