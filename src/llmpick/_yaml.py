"""The YAML dialect of llmpick's files: libyaml's speed with YAML 1.2 booleans.

PyYAML's C loader is several times faster than a pure-Python parser. PyYAML follows YAML 1.1,
where `no`, `on` and `off` are booleans; catalog files and specs are written as YAML 1.2, so only
`true`/`false` are booleans here and `data_residency: [no]` stays the string "no". It lives
outside both packages so reading a spec does not import the catalog.
"""

from __future__ import annotations

import re

import yaml

__all__ = ["Yaml12Loader"]

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BOOL_TAG = "tag:yaml.org,2002:bool"


class Yaml12Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """A safe loader whose booleans are YAML 1.2's: true/false only."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
