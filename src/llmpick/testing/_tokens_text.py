"""The deterministic fake text the test servers stream: one word per token."""

from __future__ import annotations

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def fake_token(index: int) -> str:
    """The `index`-th token of every fake answer (the first has no leading space)."""
    word = _WORDS[index % len(_WORDS)]
    return word if index == 0 else " " + word


def fake_prompt_tokens(text: str) -> int:
    """A stable input-token count for a prompt: about four characters per token."""
    return max(1, len(text) // 4)
