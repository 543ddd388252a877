"""A gateway config from a decision: the chosen model primary, the runner-up as its fallback.

`decision.json` names candidates by their spec label; where each is served comes from the spec
the decision was made from (`spec_path`, when it is still there), else from the catalog id
(the vendor's API, or the bundled model in-process). API models are external (guardrails
apply); self-hosted ones are not. Clients ask for the model `default` (or the chosen label).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmpick.gateway._config import GatewayConfig, GatewayConfigError
from llmpick.spec import Problem

__all__ = ["config_from_decision"]


def config_from_decision(path: str | Path) -> GatewayConfig:
    """Read `decision.json` defensively and build the config; errors name the file and field."""
    path = Path(path)
    name = str(path)

    def problem(field: str, message: str, hint: str | None = None) -> GatewayConfigError:
        return GatewayConfigError([Problem(name, 1, 1, field, message, hint)])

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise problem("(file)", "file not found", "run `llmpick decide SPEC` first") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise problem("(file)", f"not a decision.json: {type(exc).__name__}") from None
    recommendation = data.get("recommendation") if isinstance(data, dict) else None
    if not isinstance(recommendation, dict) or not recommendation.get("id"):
        raise problem(
            "recommendation.id", "the decision recommends no model", "measure candidates first"
        )
    rows = {
        str(c.get("id") or c.get("label")): c
        for c in data.get("candidates") or []
        if isinstance(c, dict) and (c.get("id") or c.get("label"))
    }
    chosen = [str(recommendation["id"])]
    if recommendation.get("runner_up"):
        chosen.append(str(recommendation["runner_up"]))
    spec_candidates = _spec_candidates(data.get("spec_path"), path)
    backends = []
    for label in chosen:
        row = rows.get(label, {})
        backends.append(_backend(label, row, spec_candidates.get(label)))
    route: dict[str, Any] = {"primary": backends[0]["name"]}
    if len(backends) > 1:
        route["fallbacks"] = [backends[1]["name"]]
    routes = [{"model": "default", **route}]
    label = str(recommendation.get("label") or recommendation["id"])
    if label != "default":
        routes.append({"model": label, **route})
    try:
        return GatewayConfig.model_validate({"backends": backends, "routes": routes})
    except ValueError as exc:
        raise problem("candidates", f"cannot build a gateway from it: {exc}") from None


def _spec_candidates(spec_path: Any, decision_path: Path) -> dict[str, Any]:
    """Spec candidates by label, when the decision's spec can still be read."""
    if not isinstance(spec_path, str):
        return {}
    spec_file = Path(spec_path)
    if not spec_file.is_absolute() and not spec_file.exists():
        spec_file = decision_path.parent / spec_path
    if not spec_file.is_file():
        return {}
    from llmpick.spec import SpecError, load_spec

    try:
        loaded = load_spec(spec_file)
    except SpecError:
        return {}
    found: dict[str, Any] = {}
    for candidate in loaded.spec.candidates:
        label = getattr(candidate, "label", None) or getattr(candidate, "name", None)
        for key in {label, getattr(candidate, "name", None), getattr(candidate, "model", None)}:
            if key:
                found[str(key)] = (candidate, loaded.base_dir)
    return found


def _backend(label: str, row: dict[str, Any], spec_candidate: Any) -> dict[str, Any]:
    from llmpick.providers import candidate_provider_config, provider_config_for

    model_id = row.get("model_id")
    if spec_candidate is not None:
        config = candidate_provider_config(*spec_candidate)
    elif model_id:
        config = provider_config_for(str(model_id))
    else:
        raise GatewayConfigError(
            [Problem("decision.json", 1, 1, "candidates", f"no model id or spec for {label!r}")]
        )
    values = config.model_dump()
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in label)
    external = row.get("deployment", "api") == "api"
    backend: dict[str, Any] = {"name": name, "external": external}
    if values["kind"] == "llamacpp":
        backend["local"] = {
            k: values[k] for k in ("model", "model_path", "n_threads", "n_ctx") if values.get(k)
        }
        backend["external"] = False
    else:
        backend["endpoint"] = {
            "base_url": values["base_url"],
            "model": values["model"],
            "protocol": values["kind"],
            "api_key_env": values.get("api_key_env"),
        }
    if model_id and external:
        backend["catalog_id"] = str(model_id)
    return backend
