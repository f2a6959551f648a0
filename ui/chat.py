"""The chat page: ``build_chat(assistant, settings) -> gr.Blocks``, mounted at ``/ui`` by the API.

Each browser session keeps its own conversation in ``gr.State`` (held on the server per
session, never shared); the page streams the draft, then replaces it with the checked answer.
Answers are logged in the question log and rated with thumbs up/down (``ui/feedback.py``); the
"recent questions" view lists the log (``ui/recent.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.answer.generate.cancel import Cancellation
from assistant.answer.pipeline import Assistant
from assistant.core.errors import AssistantError
from assistant.core.redact import public_message
from assistant.core.settings import Settings
from assistant.core.types import AnswerEvent, TokenEvent
from assistant.questionlog import QuestionLog
from ui import documents, render
from ui.collections import DEFAULT_COLLECTION, Held, Knowledge, OneKnowledge, choices, selector
from ui.feedback import add_feedback
from ui.pages import add_page_viewer
from ui.recent import add_recent_view

log = logging.getLogger(__name__)
CSS_PATH = Path(__file__).with_name("style.css")
DEFAULT = "default"
CONCURRENT_ANSWERS = 8
#: (every how many seconds, files older than how many seconds): gradio's cache cleaning
CACHE_LIFETIME = (600, 3600)
EXAMPLES = [
    "制造业单项冠军企业有多少家？",
    "截至2025年10月，培育了多少家专精特新“小巨人”企业？",
    "What share of total R&D spending in China comes from enterprises?",
    "How big was China's data industry in 2024?",
    "2025年我国GDP增长率是多少？",
]
AssistantSource = Assistant | Callable[[], Assistant]
QuestionLogSource = QuestionLog | Callable[[], QuestionLog] | None
Message = dict[str, str]
#: (chat, text box, turns, shown, answer ids parallel to shown)
Outputs = tuple[list[Message], str, list[Message], list[Message], list[str | None]]


def theme() -> gr.themes.Base:
    """The page theme, with system fonts: the default theme would fetch web fonts at every visit."""
    fonts = ["system-ui", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"]
    return gr.themes.Soft(font=fonts, font_mono=["ui-monospace", "monospace"])


def _resolver(assistant: AssistantSource) -> Callable[[], Assistant]:
    # the API passes a callable (the assistant is built later, in its lifespan); scripts and
    # tests may pass the assistant itself
    if isinstance(assistant, Assistant):
        return lambda: assistant
    return assistant


def recent(turns: list[Message], max_turns: int, max_chars: int) -> list[Message]:
    """The latest turns within the server's history limits (older ones are dropped, not refused:
    a long chat goes on)."""
    kept: list[Message] = []
    chars = 0
    for turn in reversed(turns[-max_turns:] if max_turns else []):
        chars += len(turn["content"])
        if chars > max_chars:
            break
        kept.append(turn)
    return kept[::-1]


def answer_stream(
    assistant: Assistant, question: str, generator: str | None, turns: list[Message], shown: list[Message],
    ids: list[str | None], question_log: QuestionLog | None = None, client: str | None = None,
    session: str | None = None,
    collection: str = DEFAULT,
) -> Iterator[Outputs]:
    """Drive one question through the pipeline (logged in ``question_log``), yielding
    (chat, textbox, turns, shown, ids) updates.

    When gradio stops this generator early (the page was closed, the event cancelled), the
    pipeline is cancelled too, so a local model stops writing an answer nobody will read.
    """
    shown = [*shown, {"role": "user", "content": render.question(question)},
             {"role": "assistant", "content": render.searching()}]
    ids = [*ids, None, None]
    yield shown, "", turns, shown, ids
    drafted = ""
    cancel = Cancellation()
    s = assistant.settings
    history = recent(turns, s.max_history_turns, s.max_history_chars) or None
    try:
        events = assistant.stream(question, generator=generator, history=history, cancel=cancel)
        if question_log is not None:
            events = question_log.recorded(events, channel="chat", client=client, session=session,
                                           collection=collection, index_build=assistant.index_build)
        for event in events:
            if isinstance(event, TokenEvent):
                drafted += event.text
                shown[-1] = {"role": "assistant", "content": render.draft(drafted)}
            elif isinstance(event, AnswerEvent):
                shown[-1] = {"role": "assistant", "content": render.answer(event.answer)}
                ids[-1] = event.answer.answer_id
                turns = [*turns, {"role": "user", "content": question},
                         {"role": "assistant", "content": event.answer.answer}]
            yield shown, "", turns, shown, ids
    except AssistantError as exc:
        # a readable line in the chat (no server paths or addresses: the log has those); the
        # question stays in the box and out of the history
        shown[-1] = {"role": "assistant", "content": render.error(public_message(exc))}
        yield shown, question, turns, shown, ids
    except Exception:
        log.exception("the chat failed to answer %r", question)
        shown[-1] = {"role": "assistant", "content": render.error(render.INTERNAL)}
        yield shown, question, turns, shown, ids
    finally:
        cancel.cancel()  # a no-op once the answer is complete


def build_chat(assistant: AssistantSource, settings: Settings, *, question_log: QuestionLogSource = None,
               client_of: Callable[[str | None], str | None] | None = None,
               knowledge: Callable[[], Knowledge] | None = None) -> gr.Blocks:
    """The chat page over ``assistant`` (or over a callable returning it, at request time).

    Answers are logged in ``question_log`` (likewise an object or a callable; None: not logged).
    ``client_of`` maps the chat's login name to the id of the API key it logged in with; with API
    keys set, only such key holders see the recent-questions view. ``knowledge`` returns the
    server's collections (default: ``assistant`` alone, as ``default``): the page offers those the
    visitor's key sees, and answers, uploads and looks back in the one selected.
    """
    get_assistant = _resolver(assistant)
    lone = OneKnowledge(get_assistant)
    get_knowledge: Callable[[], Knowledge] = knowledge if knowledge is not None else lambda: lone
    get_log: Callable[[], QuestionLog | None] = question_log if callable(question_log) else lambda: question_log

    def client(request: gr.Request) -> str | None:
        return client_of(request.username) if client_of is not None else None

    def may_see_log(request: gr.Request) -> bool:
        return not settings.api_secrets or client(request) is not None

    # gradio's file cache (uploads, mostly) is emptied of what is older than an hour, every ten
    # minutes, and at start-up; a document's upload is deleted as soon as its change is over
    blocks = gr.Blocks(title="报告问答 · Report assistant", analytics_enabled=False, delete_cache=CACHE_LIFETIME)
    with blocks:
        gr.Markdown(
            "## 报告问答 · Report assistant\n"
            "只依据报告作答，并标注出处；报告未提及时会明确说明。"
            " · Answers only from the reports and cites its passages; says so when the report doesn't say.",
            elem_classes="ra-header",
        )
        turns = gr.State([])  # the conversation sent to the pipeline (text only)
        shown = gr.State([])  # the rendered messages, kept server-side so requests stay small
        ids = gr.State([])  # the answer_id of each shown message (None but for checked answers)
        chatbot = gr.Chatbot(label="对话 · Conversation", show_label=False, height=560, elem_id="ra-chat",
                             buttons=["copy"], feedback_options=("Like", "Dislike"), group_consecutive_messages=False,
                             latex_delimiters=[])  # no formulas: a "$$" in a report must stay text
        add_feedback(chatbot, ids, get_log, client)
        with gr.Row(equal_height=True):
            question = gr.Textbox(placeholder="输入问题… · Ask a question…", show_label=False, scale=6,
                                  max_length=settings.max_question_chars, elem_id="ra-question", lines=1)
            ask = gr.Button("提问 · Ask", variant="primary", scale=1, elem_id="ra-ask")
        with gr.Row():
            collection = selector()
            generator = gr.Dropdown(choices=[(f"默认 · {DEFAULT}", DEFAULT)], value=DEFAULT, scale=2,
                                    label="生成方式 · Generator", elem_id="ra-generator")
            clear = gr.Button("新对话 · New chat", scale=1, elem_id="ra-clear")

        def use(name: str | None, request: gr.Request) -> Held:
            return get_knowledge().use(name, client(request))

        # a card's page button opens its page, the passage marked
        add_page_viewer(lambda name, request: use(name, request), collection)
        examples = gr.Dataset(components=[question], samples=[[q] for q in EXAMPLES],
                              label="示例问题 · Example questions", elem_id="ra-examples")
        examples.click(lambda picked: picked[0], inputs=[examples], outputs=[question])
        recent_view = add_recent_view(get_log, may_see_log, collection)
        documents.panel(blocks, lambda name, request: use(name, request), collection)  # upload and remove documents

        def respond(text: str, choice: str, name: str, past: list[Message], rows: list[Message],
                    answer_ids: list[str | None], request: gr.Request) -> Iterator[Outputs]:
            text = (text or "").strip()
            if not text:
                yield rows, "", past, rows, answer_ids
                return
            chosen = None if choice == DEFAULT else choice
            try:
                held = use(name, request)
            except AssistantError as exc:
                yield [*rows, {"role": "assistant", "content": render.error(public_message(exc))}], text, past, rows, \
                    answer_ids
                return
            with held:
                yield from answer_stream(held.assistant, text, chosen, past, rows, answer_ids, get_log(),
                                         client(request), session=request.session_hash, collection=held.name)

        def collection_choices(current: str | None, request: gr.Request) -> Any:
            return choices(get_knowledge(), client(request), current)

        def examples_of(name: str | None, request: gr.Request) -> Any:
            """The report's examples for ``default``; for another collection, its latest answered questions."""
            if not name or name == DEFAULT_COLLECTION:
                return gr.Dataset(samples=[[q] for q in EXAMPLES])
            question_log = get_log()
            if question_log is None or not question_log.enabled or not may_see_log(request):
                return gr.Dataset(samples=[])
            try:
                entries = question_log.store.entries(collection=name, limit=50)
            except AssistantError:
                return gr.Dataset(samples=[])
            asked = list(dict.fromkeys(e.question for e in entries if e.question and not e.refused))[:5]
            return gr.Dataset(samples=[[q] for q in asked])

        def generator_choices() -> Any:
            pool = get_assistant().generators
            label = f"默认 · {DEFAULT} ({pool.default})"
            return gr.Dropdown(choices=[(label, DEFAULT), *((n, n) for n in pool.names())])

        inputs, outputs = [question, generator, collection, turns, shown, ids], [chatbot, question, turns, shown, ids]
        question.submit(respond, inputs=inputs, outputs=outputs)
        ask.click(respond, inputs=inputs, outputs=outputs)
        clear.click(lambda: ([], "", [], [], []), outputs=[chatbot, question, turns, shown, ids])
        # the chatbot's own trash button empties the display; the conversation must go with it
        chatbot.clear(lambda: ([], [], []), outputs=[turns, shown, ids])
        blocks.load(generator_choices, outputs=[generator])
        blocks.load(collection_choices, inputs=[collection], outputs=[collection])
        # another collection: another conversation, its examples, its recent questions
        collection.change(lambda: ([], "", [], [], []), outputs=[chatbot, question, turns, shown, ids])
        collection.change(examples_of, inputs=[collection], outputs=[examples])
        collection.change(lambda: "", outputs=[recent_view])
    # gradio runs one event at a time per listener by default, which would make every visitor wait
    # for every other one; the assistant itself serialises what cannot run in parallel (a local model)
    blocks.queue(default_concurrency_limit=CONCURRENT_ANSWERS)
    return blocks
