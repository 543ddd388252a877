from __future__ import annotations

import pytest

from llmpick.evaluation import Item, PromptBuilder, PromptError
from llmpick.providers import Message

ITEM = Item("t1", "The app crashes", "technical", None, {"ticket": "The app crashes"}, 4)


def test_chat_prompt_has_system_shots_and_item() -> None:
    builder = PromptBuilder(
        template="Ticket: {{ ticket }}\nQueue:",
        system_prompt="Route tickets.",
        few_shot=[("Charged twice", "billing")],
        input_field="ticket",
    )
    assert builder.build(ITEM) == [
        Message("system", "Route tickets."),
        Message("user", "Ticket: Charged twice\nQueue:"),
        Message("assistant", "billing"),
        Message("user", "Ticket: The app crashes\nQueue:"),
    ]


def test_completion_prompt_for_base_models() -> None:
    builder = PromptBuilder(
        template="Ticket: {{ ticket }}\nQueue:",
        mode="completion",
        system_prompt="Route tickets.",
        few_shot=[("Charged twice", "billing")],
        input_field="ticket",
    )
    assert builder.build(ITEM) == (
        "Route tickets.\n\nTicket: Charged twice\nQueue: billing\n\nTicket: The app crashes\nQueue:"
    )


def test_unknown_variable_names_the_row() -> None:
    with pytest.raises(PromptError, match=r"row 4 \(id t1\).*'customer' is undefined"):
        PromptBuilder(template="{{ customer }}").build(ITEM)
    with pytest.raises(PromptError, match="line 1"):
        PromptBuilder(template="{{ oops")
