"""Templates from a spec are data: they render in Jinja2's sandbox and cannot run code."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpick._templates import sandboxed_environment, template_problem
from llmpick.evaluation import Item
from llmpick.evaluation._prompts import PromptBuilder, PromptError
from llmpick.providers import Message

SHELL = "{{ cycler.__init__.__globals__.os.popen('touch %s').read() }}"


def _item(**fields: str) -> Item:
    return Item(id="1", input="q", expected=None, category=None, fields=fields, row=2)


def test_a_template_that_reaches_internals_is_refused_before_rendering(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    with pytest.raises(PromptError, match="'__globals__' reaches Python internals"):
        PromptBuilder(template=SHELL % marker)
    assert not marker.exists()


@pytest.mark.parametrize(
    "template",
    [
        SHELL,
        "{{ lipsum.__globals__['os'].system('touch %s') }}",
        "{{ input|attr('__class__') }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    ],
)
def test_the_sandbox_itself_refuses_what_the_static_check_would(
    template: str, tmp_path: Path
) -> None:
    """Even a template rendered without `template_problem` cannot reach Python internals."""
    marker = tmp_path / "PWNED"
    source = template % marker if "%s" in template else template
    with pytest.raises(Exception) as caught:
        sandboxed_environment().from_string(source).render(input="q")
    assert "unsafe" in str(caught.value) or "undefined" in str(caught.value)
    assert not marker.exists()


def test_a_name_computed_from_a_row_cannot_reach_internals() -> None:
    """`row[field]` passes the static check; the sandbox still refuses a dunder at run time."""
    builder = PromptBuilder(template="{{ input[key] }}")
    with pytest.raises(PromptError, match="row 2"):
        builder.render(_item(key="__class__"))


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 'a' * 100000000 }}", "repeating a value"),
        ("{{ 10 ** 100000 }}", "too large"),
    ],
)
def test_a_template_cannot_claim_gigabytes(template: str, message: str) -> None:
    builder = PromptBuilder(template=template)
    with pytest.raises(PromptError, match=message):
        builder.render(_item())


def test_ordinary_templates_still_work() -> None:
    template = "{{ input|upper }}{% for c in choices %} {{ loop.index }}) {{ c }}{% endfor %}"
    assert template_problem(template) is None
    builder = PromptBuilder(template=template)
    item = Item(id="1", input="q", expected=None, category=None, fields={"choices": "ab"}, row=2)
    assert builder.render(item) == "Q 1) a 2) b"


def test_a_prompt_surely_over_the_context_window_is_refused_without_a_tokenizer() -> None:
    builder = PromptBuilder(context_window_tokens=1000)
    # 16,000 characters may still be 1,000 tokens: near the limit, the server decides.
    assert builder.too_long("x" * 16_000) is None
    refusal = builder.too_long("x" * 16_001 + "y" * 15)
    assert refusal is not None and "at most 1,000" in refusal
    assert PromptBuilder().too_long("x" * 20_000_000) is None  # unknown window: not checked
    chat = [Message("system", "x" * 10_000), Message("user", "y" * 10_000)]
    assert builder.too_long(chat) is not None  # every message counts


def test_no_plain_jinja_environment_renders_user_templates() -> None:
    """Only the report's own package templates (autoescaped, user data as values) use a plain
    environment; anything else that renders a template goes through `sandboxed_environment`."""
    import re

    import llmpick

    source = Path(llmpick.__file__).parent
    plain = re.compile(r"\b(?:jinja2\.)?(?:Environment|Template)\(")
    found = {
        path.relative_to(source).as_posix()
        for path in source.rglob("*.py")
        if plain.search(path.read_text(encoding="utf-8"))
    }
    assert found <= {"report/_html.py"}, found
