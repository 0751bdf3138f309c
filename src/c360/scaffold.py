"""``c360 init``: a new workspace with a commented config, contracts and a key.

The commented ``c360.yaml`` and ``docs/reference/configuration.md`` are both
rendered from the pydantic models in :mod:`c360.config`, so neither can drift
from what the code accepts.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from c360.config import CONFIG_FILE, Config, Contract
from c360.errors import C360Error
from c360.tokens import create_key_file

TEMPLATES = ("bank-demo", "empty")


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def _yaml_value(v: Any) -> str:
    if isinstance(v, BaseModel):
        return ""
    return json.dumps(v)


def render_yaml(model: type[BaseModel], indent: int = 0) -> list[str]:
    """Every field of ``model`` with its description as a comment and its default."""
    lines: list[str] = []
    pad = "  " * indent
    for name, field in model.model_fields.items():
        if field.description:
            for part in textwrap.wrap(field.description, 88 - len(pad)):
                lines.append(f"{pad}# {part}")
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            lines.append(f"{pad}{name}:")
            lines += render_yaml(ann, indent + 1)
        else:
            lines.append(f"{pad}{name}: {_yaml_value(_default(field))}")
    return lines


def render_config() -> str:
    head = [
        "# c360 workspace configuration. Unknown keys are errors.",
        "# Any setting can be overridden by an environment variable C360_<SECTION>__<KEY>,",
        "# e.g. C360_INGEST__MIN_FILE_AGE_SECONDS=30; C360_STORE_URL overrides store.url.",
        "",
    ]
    return "\n".join(head + render_yaml(Config)) + "\n"


def _md_table(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        key = f"{prefix}{name}"
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows += _md_table(ann, key + ".")
            continue
        typ = str(ann).replace("typing.", "").replace("|", "\\|")
        dflt = "" if field.is_required() else f"`{json.dumps(_default(field), default=str)}`"
        desc = (field.description or "").replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{key}` | {typ} | {dflt} | {desc} |")
    return rows


def render_reference() -> str:
    """Markdown reference of c360.yaml and of source contracts."""
    out = [
        "# Configuration and contract reference",
        "",
        "Generated from `c360.config` by `python -m c360.scaffold`; a test fails when it is stale.",
        "",
        "## c360.yaml",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    out += _md_table(Config)
    out += [
        "",
        "## contracts/<source>.yaml",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    out += _md_table(Contract)
    from c360.config import ColumnSpec, IdentityMapping

    for title, model in (("columns[]", ColumnSpec), ("identity", IdentityMapping)):
        out += ["", f"### {title}", "", "| key | type | default | meaning |", "|---|---|---|---|"]
        out += _md_table(model)
    return "\n".join(out) + "\n"


def scaffold(root: Path, template: str = "bank-demo", force: bool = False) -> None:
    if template not in TEMPLATES:
        raise C360Error(
            "workspace.bad_template",
            f"unknown template {template!r}; choose {', '.join(TEMPLATES)}",
        )
    cfg = root / CONFIG_FILE
    if cfg.exists() and not force:
        raise C360Error("workspace.exists", f"{cfg} already exists (use --force to rewrite it)")
    root.mkdir(parents=True, exist_ok=True)
    cfg.write_text(render_config(), encoding="utf-8")
    for folder in ("contracts", "landing", "lakehouse", "store"):
        (root / folder).mkdir(exist_ok=True)
    create_key_file(root / ".c360" / "token.key")
    (root / ".gitignore").write_text(".c360/\nlakehouse/\nstore/\ntruth/\n", encoding="utf-8")
    if template == "bank-demo":
        from importlib.util import find_spec

        if find_spec("c360.synth") is not None:
            from c360.workspace import copy_packaged

            copy_packaged("c360.synth", "contracts", root / "contracts", "*.yaml")


if __name__ == "__main__":  # regenerate docs/reference/configuration.md
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/reference/configuration.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_reference(), encoding="utf-8")
    print(f"wrote {target}")
