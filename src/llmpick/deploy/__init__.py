"""Step 4's last mile: serving artefacts sized from the memory fit, one target per registry entry.

```python
from llmpick.deploy import plan_deployment, write_deployment
plan = plan_deployment("meta/llama-3.3-70b-instruct", "2xH100")
write_deployment(plan, "kubernetes", Path("deploy"))   # kubernetes.yaml + README.md
```

A closed API model has nothing to host: `llmpick gateway` (its config) is how it is deployed.
"""

from __future__ import annotations

from pathlib import Path

from llmpick._files import write_text_atomic
from llmpick.deploy._plan import DeployError, DeploymentPlan, Setting, plan_deployment
from llmpick.deploy._targets import TARGETS, Files, render_target

__all__ = [
    "TARGETS",
    "DeployError",
    "DeploymentPlan",
    "Files",
    "Setting",
    "plan_deployment",
    "render_target",
    "write_deployment",
]


def write_deployment(plan: DeploymentPlan, target: str, out_dir: Path) -> list[Path]:
    """Render `target` for `plan` and write its files into `out_dir` (all rendered first, so a
    bad target writes nothing)."""
    files = render_target(target, plan)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = out_dir / name
        write_text_atomic(path, text)
        if name.endswith(".sh"):
            path.chmod(0o755)
        written.append(path)
    return written
