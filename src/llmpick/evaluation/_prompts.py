"""Turn a dataset row into what a model is sent: chat messages, or one completion prompt.

Templates are Jinja2 with every row field as a variable (plus `input`, the mapped input text),
rendered in Jinja2's sandbox (`llmpick._templates`): a template from a shared spec cannot reach
Python internals or run code.
Chat mode sends the system prompt, then each few-shot example as a user/assistant pair, then the
item. Completion mode (for base models, which have no chat template) writes the same thing as one
text: the system prompt as a preamble, then "prompt answer" blocks separated by blank lines, ending
with the item's prompt for the model to continue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import jinja2

from llmpick._errors import LlmpickError
from llmpick._templates import sandboxed_environment, template_problem
from llmpick.evaluation._dataset import Item
from llmpick.providers import Message, Prompt

__all__ = [
    "COMPLETION_STOP",
    "MAX_CHARS_PER_TOKEN",
    "PromptBuilder",
    "PromptError",
    "prompt_for_cache",
]

# A completion prompt separates examples with a blank line, so a base model that starts the next
# example has finished its answer.
COMPLETION_STOP = ("\n\n",)

_ENV = sandboxed_environment(strict=True)
_LENIENT_ENV = sandboxed_environment(strict=False)


MAX_CHARS_PER_TOKEN = 16
"""More characters per token than any tokenizer averages over a prompt (English runs near 4),
so `characters / 16` is a count of tokens a prompt surely has at least."""


class PromptError(LlmpickError):
    """A template cannot be rendered for a row (usually a variable the row lacks)."""


@dataclass(frozen=True)
class PromptBuilder:
    """Builds each item's prompt the same way; create one per candidate (overrides differ)."""

    template: str = "{{ input }}"
    mode: Literal["chat", "completion"] = "chat"
    system_prompt: str | None = None
    few_shot: Sequence[tuple[str, str]] = ()
    input_field: str = "input"
    context_window_tokens: int | None = None

    def __post_init__(self) -> None:
        # The spec's validation refuses these already; a template built in code is checked too.
        problem = template_problem(self.template)
        if problem is not None:
            raise PromptError(f"prompt {problem}")
        compiled = _ENV.from_string(self.template)
        lenient = _LENIENT_ENV.from_string(self.template)
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_parts", _plain_substitutions(self.template))
        # Few-shot examples only have an input and an output; other fields render empty.
        try:
            shots = [
                (lenient.render({self.input_field: text, "input": text}), answer)
                for text, answer in self.few_shot
            ]
        except jinja2.TemplateError as exc:
            raise PromptError(f"prompt template, few-shot example: {exc}") from None
        object.__setattr__(self, "_shots", shots)

    def render(self, item: Item) -> str:
        """The item's user text (the template applied to its fields)."""
        parts: list[tuple[bool, str]] | None = self._parts  # type: ignore[attr-defined]
        if parts is not None:
            try:
                return "".join(text if literal else _text(text, item) for literal, text in parts)
            except KeyError:
                pass  # fall through to Jinja for its error message
        variables = {**item.fields, "input": item.input, "id": item.id}
        try:
            return self._compiled.render(variables)  # type: ignore[attr-defined]
        except jinja2.UndefinedError as exc:
            raise PromptError(
                f"row {item.row} (id {item.id}): the prompt template uses {exc.message}; "
                f"the row has: {', '.join(map(str, item.fields))}"
            ) from None
        except jinja2.TemplateError as exc:  # the sandbox refused something (SecurityError)
            raise PromptError(f"row {item.row} (id {item.id}): prompt template: {exc}") from None
        except (TypeError, ValueError, ArithmeticError) as exc:  # `{{ input + 1 }}` on a string
            raise PromptError(f"row {item.row} (id {item.id}): prompt template: {exc}") from None

    def too_long(self, prompt: Prompt) -> str | None:
        """Why `prompt` cannot fit the candidate's context window, or None.

        Only a prompt that is certain not to fit (at MAX_CHARS_PER_TOKEN, a bound no real
        text exceeds) is refused, so that a 50 MB row fails as that one item of that one
        candidate, without being sent, while a model with a larger window still answers it;
        a prompt near the limit is left to the server, whose refusal is recorded the same way.
        """
        window = self.context_window_tokens
        if window is None:
            return None
        chars = len(prompt) if isinstance(prompt, str) else sum(len(m.content) for m in prompt)
        least = chars // MAX_CHARS_PER_TOKEN
        if least <= window:
            return None
        return (
            f"too long for the context window: the prompt is {chars:,} characters, at least "
            f"{least:,} tokens, and the model reads at most {window:,}"
        )

    def build(self, item: Item) -> Prompt:
        """The prompt for `item`: a list of messages (chat) or one string (completion)."""
        text = self.render(item)
        shots: list[tuple[str, str]] = self._shots  # type: ignore[attr-defined]
        if self.mode == "chat":
            messages = [Message("system", self.system_prompt)] if self.system_prompt else []
            for prompt, answer in shots:
                messages += [Message("user", prompt), Message("assistant", answer)]
            messages.append(Message("user", text))
            return messages
        blocks = [self.system_prompt.strip()] if self.system_prompt else []
        blocks += [_join(prompt, answer) for prompt, answer in shots]
        blocks.append(text)
        return "\n\n".join(blocks)


def _plain_substitutions(template: str) -> list[tuple[bool, str]] | None:
    """For a template that only substitutes variables (`Ticket: {{ ticket }}`), its parts as
    (is literal, text or variable name); None when it uses anything else (filters, tags).

    Such templates (nearly all of them) are then rendered by joining strings, about ten times
    faster than Jinja's runtime, which matters when a cached re-run renders every prompt again.
    """
    from jinja2 import nodes

    body = _ENV.parse(template).body
    parts: list[tuple[bool, str]] = []
    for node in body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append((True, child.data))
            elif isinstance(child, nodes.Name) and child.ctx == "load":
                parts.append((False, child.name))
            else:
                return None
    return parts


def _text(name: str, item: Item) -> str:
    if name == "input":
        return item.input
    if name == "id":
        return item.id
    value = item.fields[name]
    return value if isinstance(value, str) else str(value)


def _join(prompt: str, answer: str) -> str:
    return prompt + answer if not prompt or prompt[-1].isspace() else f"{prompt} {answer}"


def prompt_for_cache(prompt: Prompt) -> str | list[dict[str, str]]:
    """The prompt as plain JSON-able data (for cache keys and storage)."""
    if isinstance(prompt, str):
        return prompt
    return [{"role": m.role, "content": m.content} for m in prompt]
