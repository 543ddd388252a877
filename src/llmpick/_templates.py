"""The one way llmpick renders a template that comes from a user's file: Jinja2's sandbox.

A spec is shared and committed like code, yet it is read as data: a prompt template such as
`{{ cycler.__init__.__globals__.os.popen('id').read() }}` would run a shell command in a plain
Jinja2 environment. Templates (the dataset's and a candidate's prompt template, a judge prompt)
are therefore rendered in `ImmutableSandboxedEnvironment`, which refuses Python internals and
methods that change data, with `**` and string repetition capped so that one expression cannot
claim gigabytes. `template_problem` finds the same reaches statically, so `validate` refuses
such a spec before anything renders it. The only code a spec runs is a scorer of type `python`,
named explicitly.

It lives outside both `spec` and `evaluation` so validating a spec does not import the runner.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    ImmutableSandboxedEnvironment,
    SecurityError,
)

__all__ = ["SecurityError", "sandboxed_environment", "template_problem"]

MAX_REPEAT_CHARS = 1_000_000
"""Longest string or list that `*` may build in a template (a prompt is far shorter)."""

MAX_POWER_DIGITS = 1_000
"""Largest result of `**`, in decimal digits."""

# Attributes that lead from an ordinary value to Python's machinery: dunder and private names,
# and the frame, code and class-hierarchy attributes the sandbox itself refuses.
_INTERNAL_ATTRIBUTES = frozenset(
    {
        "mro",
        "func_globals",
        "func_code",
        "func_closure",
        "im_func",
        "im_self",
        "im_class",
        "f_globals",
        "f_locals",
        "f_builtins",
        "f_back",
        "f_code",
        "tb_frame",
        "tb_next",
        "co_code",
        *UNSAFE_GENERATOR_ATTRIBUTES,
        *UNSAFE_COROUTINE_ATTRIBUTES,
        *UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    }
)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, with `*` and `**` bounded (it leaves them unbounded)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if _power_too_big(left, right):
                raise SecurityError(f"{left!r} ** {right!r} is too large for a template")
            return operator.pow(left, right)
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_REPEAT_CHARS
                ):
                    raise SecurityError(
                        f"repeating a value {count} times builds over {MAX_REPEAT_CHARS:,} items"
                    )
            return operator.mul(left, right)
        return super().call_binop(context, operator_name, left, right)


def _power_too_big(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int | float) and isinstance(exponent, int | float)):
        return False
    if abs(base) <= 1 or exponent <= 0:
        return False
    return exponent * math.log10(abs(base)) > MAX_POWER_DIGITS


def sandboxed_environment(*, strict: bool = True) -> jinja2.Environment:
    """A sandboxed environment for user templates: undefined variables raise (`strict`) or
    render empty, and nothing is HTML-escaped (prompts are plain text)."""
    undefined = jinja2.StrictUndefined if strict else jinja2.Undefined
    return _Sandbox(undefined=undefined, autoescape=False)


_PARSER = sandboxed_environment()


def template_problem(source: str) -> str | None:
    """Why `source` cannot be a prompt template, or None: a syntax error, or an expression that
    reaches Python internals (`__globals__`, `__class__`, `mro`, ...) which only an attempt to
    escape the template needs."""
    try:
        tree = _PARSER.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        return f"template line {exc.lineno}: {exc.message}"
    for node, name in _attribute_reaches(tree):
        if name is None:
            if isinstance(node, nodes.Const):
                return (
                    f"template line {node.lineno}: the string {node.value!r} names Python "
                    "internals; a template may use the row's fields, filters and tests only"
                )
            return (
                f"template line {node.lineno}: `attr` with a computed name; "
                "name the attribute literally (templates may not reach Python internals)"
            )
        if name.startswith("_") or name in _INTERNAL_ATTRIBUTES:
            return (
                f"template line {node.lineno}: {name!r} reaches Python internals; a template "
                "may use the row's fields, filters and tests only"
            )
    return None


def _attribute_reaches(tree: nodes.Template) -> Iterator[tuple[nodes.Node, str | None]]:
    """Each attribute or item a template looks up by a literal name; None for a computed name
    given to the `attr` filter (which exists to look attributes up) and for a string literal
    that spells a dunder (material to build such a name)."""
    kinds = (nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test, nodes.Const)
    for node in tree.find_all(kinds):
        if isinstance(node, nodes.Const):
            # Only a string spelled in an expression: `"__cla" ~ "ss__"`, `"{0.__class__}"`.
            if isinstance(node.value, str) and "__" in node.value:
                yield node, None
        elif isinstance(node, nodes.Getattr):
            yield node, node.attr
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                yield node, node.arg.value
        elif isinstance(node, nodes.Filter | nodes.Test) and node.name == "attr":
            argument = node.args[0] if node.args else None
            if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
                yield node, argument.value
            else:
                yield node, None
