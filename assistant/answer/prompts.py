"""Prompt files under ``prompts/``, validated on load.

A prompt file is TOML with ``name``, ``description``, ``variables``, ``system`` and ``user``, and
optionally ``[parts]``: named pieces of fixed text the code picks (the answer rules per language).
Loading checks that every ``{placeholder}`` in the templates is declared and every declared
variable is used, and that parts hold no placeholders; rendering checks that exactly the declared
variables are supplied. Any
problem raises :class:`~assistant.core.errors.PromptError`. The file's sha256 travels with each
answer (``Answer.prompt``), so an answer can be traced to the exact prompt text.

:class:`AnswerPrompts` builds the answer step's chat messages from ``prompts/answer.toml``: the
numbered evidence sentences under their section headings, the question (a two-part question as its
numbered parts) and the reply rule for the question's language. Its system message has no variable,
so it is the same token prefix for every question and llama.cpp reuses it from its cache.
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from assistant.answer.evidence import Evidence
from assistant.core.errors import PromptError
from assistant.text.language import Language

#: the answer prompt (prompts/<name>.toml)
ANSWER_PROMPT = "answer"


class PromptFile(BaseModel):
    """The schema of a prompt file; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    variables: list[str]
    system: str
    user: str
    parts: dict[str, str] = {}

    @model_validator(mode="after")
    def _variables_match_placeholders(self) -> PromptFile:
        used = placeholders(self.system) | placeholders(self.user)
        declared = set(self.variables)
        if undeclared := used - declared:
            raise ValueError(f"placeholders not declared in 'variables': {sorted(undeclared)}")
        if unused := declared - used:
            raise ValueError(f"declared variables never used in the templates: {sorted(unused)}")
        if templated := sorted(name for name, text in self.parts.items() if placeholders(text)):
            raise ValueError(f"parts are fixed text, but these hold placeholders: {templated}")
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

    def part(self, name: str) -> str:
        """The fixed text ``[parts].name``; raises :class:`PromptError` when the file has none."""
        try:
            return self.spec.parts[name]
        except KeyError:
            raise PromptError(f"prompt {self.name!r} has no part {name!r}; it has: {sorted(self.spec.parts)}") from None

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
    """The answer prompt: numbered evidence, the question, and the reply rule of its language."""

    def __init__(self, prompt: Prompt) -> None:
        for language in ("zh", "en"):  # fail at start-up, not on the first English question
            for suffix in ("", "_parts"):
                prompt.part(f"reply_{language}{suffix}")
        self.prompt = prompt

    @classmethod
    def load(cls, prompts_dir: Path) -> AnswerPrompts:
        """Load and validate ``prompts_dir/answer.toml``."""
        return cls(load_prompt(ANSWER_PROMPT, prompts_dir))

    def info(self, language: Language) -> dict[str, str]:
        return self.prompt.info()

    def messages(self, question: str | list[str], evidence: list[Evidence], language: Language) -> list[dict[str, str]]:
        """System and user messages asking ``question`` (or its parts) over the numbered ``evidence``."""
        parts = [question] if isinstance(question, str) else question
        asked = parts[0] if len(parts) == 1 else "\n".join(f"{i}. {p}" for i, p in enumerate(parts, start=1))
        reply = self.prompt.part(f"reply_{language}" + ("_parts" if len(parts) > 1 else ""))
        return self.prompt.render(evidence=evidence_block(evidence), question=asked, reply=reply)


def evidence_block(evidence: list[Evidence]) -> str:
    """Evidence sentences numbered ``[1]``… in order, each run of one passage under its heading in 《》."""
    lines: list[str] = []
    last: str | None = None
    for n, e in enumerate(evidence, start=1):
        if e.passage.id != last:
            lines.append(f"《{e.heading}》")
            last = e.passage.id
        lines.append(f"[{n}] {e.text}")
    return "\n".join(lines)
