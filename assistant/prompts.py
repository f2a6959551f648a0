"""Prompt files under ``prompts/``, validated on load.

A prompt file is TOML with ``name``, ``description``, ``variables``, ``system`` and ``user``.
Loading checks that every ``{placeholder}`` in the templates is declared and every declared
variable is used; rendering checks that exactly the declared variables are supplied. Any
problem raises :class:`~assistant.errors.PromptError`. The file's sha256 travels with each
answer (``Answer.prompt``), so an answer can be traced to the exact prompt text.

:class:`AnswerPrompts` builds the answer step's chat messages: the numbered passages, fenced
as data, and the question, in the prompt for the question's language.
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from assistant.errors import PromptError
from assistant.text.language import Language
from assistant.types import Passage

#: the answer prompt per question language (prompts/<name>.toml)
ANSWER_PROMPTS: dict[Language, str] = {"zh": "answer_zh", "en": "answer_en"}


class PromptFile(BaseModel):
    """The schema of a prompt file; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    variables: list[str]
    system: str
    user: str

    @model_validator(mode="after")
    def _variables_match_placeholders(self) -> PromptFile:
        used = placeholders(self.system) | placeholders(self.user)
        declared = set(self.variables)
        if undeclared := used - declared:
            raise ValueError(f"placeholders not declared in 'variables': {sorted(undeclared)}")
        if unused := declared - used:
            raise ValueError(f"declared variables never used in the templates: {sorted(unused)}")
        return self


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a ``str.format`` template (``{{`` escapes are not fields)."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as exc:  # unbalanced braces
        raise ValueError(f"malformed template: {exc}") from exc


class Prompt:
    """A validated prompt: renders chat messages from exactly its declared variables."""

    def __init__(self, spec: PromptFile, sha256: str) -> None:
        self.spec = spec
        self.sha256 = sha256

    @property
    def name(self) -> str:
        return self.spec.name

    def info(self) -> dict[str, str]:
        """What an answer records about its prompt."""
        return {"name": self.name, "sha256": self.sha256}

    def render(self, **values: str) -> list[dict[str, str]]:
        """System and user messages with ``values`` filled in.

        Raises :class:`PromptError` when a declared variable is missing or an unknown one is given.
        """
        declared = set(self.spec.variables)
        if missing := declared - values.keys():
            raise PromptError(f"prompt {self.name!r}: missing variable(s) {sorted(missing)}")
        if extra := values.keys() - declared:
            raise PromptError(
                f"prompt {self.name!r}: unknown variable(s) {sorted(extra)}; declared: {sorted(declared)}"
            )
        return [
            {"role": "system", "content": self.spec.system.format(**values)},
            {"role": "user", "content": self.spec.user.format(**values)},
        ]


def load_prompt(name: str, prompts_dir: Path) -> Prompt:
    """Load and validate ``prompts_dir/<name>.toml``."""
    path = prompts_dir / f"{name}.toml"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PromptError(f"prompt file {path} cannot be read: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        spec = PromptFile.model_validate(data)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PromptError(f"prompt file {path} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise PromptError(f"prompt file {path} is invalid: {problems}") from exc
    if spec.name != name:
        raise PromptError(f"prompt file {path} declares name {spec.name!r}, expected {name!r}")
    return Prompt(spec, hashlib.sha256(raw).hexdigest())


class AnswerPrompts:
    """The answer prompts, one per question language."""

    def __init__(self, prompts: dict[Language, Prompt]) -> None:
        self.prompts = prompts

    @classmethod
    def load(cls, prompts_dir: Path) -> AnswerPrompts:
        """Load and validate ``prompts_dir/answer_<language>.toml``."""
        return cls({lang: load_prompt(name, prompts_dir) for lang, name in ANSWER_PROMPTS.items()})

    def info(self, language: Language) -> dict[str, str]:
        return self.prompts[language].info()

    def messages(
        self, question: str, passages: list[Passage], language: Language, refusal: str
    ) -> list[dict[str, str]]:
        """System and user messages asking ``question`` over the numbered ``passages``."""
        blocks = "\n".join(f"<passage id={i}>\n{_with_section(p)}\n</passage>" for i, p in enumerate(passages, start=1))
        return self.prompts[language].render(question=question, passages=blocks, refusal=refusal)


def _with_section(p: Passage) -> str:
    """The passage text, headed by its section unless the text already starts with it
    (report items carry their headings; repeating them costs prompt tokens on a slow CPU)."""
    last = p.section.split("›")[-1].strip()
    return p.text if not last or last[:8] in p.text[:200] else f"{p.section}\n{p.text}"
