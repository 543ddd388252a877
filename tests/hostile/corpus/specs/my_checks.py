"""A user scorer beside the spec (the only code a spec may run)."""


def is_right(output, expected, fields):
    return output.strip() == (expected or "").strip()
