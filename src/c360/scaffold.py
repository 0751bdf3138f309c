"""``c360 init``: a new workspace with a commented config, contracts and a key.

The commented ``c360.yaml`` and ``docs/reference/configuration.md`` are both
rendered from the pydantic models in :mod:`c360.config`, so neither can drift
from what the code accepts.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from c360.config import CONFIG_FILE, Config, Contract
from c360.errors import C360Error
from c360.tokens import create_key_file

TEMPLATES = ("bank-demo", "empty")
# Everything a workspace holds that is data, keys or generated: none of it belongs in git.
GITIGNORE = ".c360/\nlakehouse/\nstore/\ntruth/\nlanding/\nmodels/\nlineage/\n"


def _default(field: FieldInfo) -> Any:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def _model_of(ann: Any) -> tuple[type[BaseModel], str] | None:
    """The model a field holds and the key suffix that reaches it (``[]``, ``.<name>``)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann, ""
    args = [a for a in get_args(ann) if a is not type(None)]
    origin = get_origin(ann)
    if origin in (list, tuple) and args:
        inner = _model_of(args[0])
        return (inner[0], "[]" + inner[1]) if inner else None
    if origin is dict and len(args) == 2:
        inner = _model_of(args[1])
        return (inner[0], ".<name>" + inner[1]) if inner else None
    if len(args) == 1:  # X | None
        return _model_of(args[0])
    return None


def _json(v: Any) -> str:
    return json.dumps(to_jsonable_python(v), default=str)


def render_yaml(model: type[BaseModel], indent: int = 0) -> list[str]:
    """Every field of ``model`` with its description as a comment and its default.

    Long defaults (the built-in consent capture mapping, say) are left commented
    out: the key is then absent and the built-in default applies.
    """
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
            continue
        value = _json(_default(field))
        if len(value) > 80:
            lines.append(f"{pad}# {name}: built-in default (docs/reference/configuration.md)")
        else:
            lines.append(f"{pad}{name}: {value}")
    return lines


def render_config() -> str:
    head = [
        "# c360 workspace configuration. Unknown keys are errors (naming key, file and line).",
        "# Any setting can be overridden by an environment variable C360_<BLOCK>__<KEY>__...,",
        "# e.g. C360_IDENTITY__THRESHOLDS__AUTO_LINK=0.95; C360_STORE_URL overrides store.url.",
        "",
    ]
    return "\n".join(head + render_yaml(Config)) + "\n"


def _md_table(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        key = f"{prefix}{name}"
        inner = _model_of(ann)
        if inner and inner[1] == "" and isinstance(ann, type):
            rows += _md_table(inner[0], key + ".")
            continue
        typ = (
            str(ann)
            .replace("typing.", "")
            .replace("c360.settings.", "")
            .replace("c360.config.", "")
            .replace("|", "\\|")
        )
        typ = re.sub(r"<class '(?:[\w.]+\.)?(\w+)'>", r"\1", typ)
        typ = re.sub(r"\b[a-z_]+\.(?=[A-Z])", "", typ)
        if field.is_required():
            dflt = "(required)"
        else:
            value = _json(_default(field))
            dflt = "built-in (see docs)" if len(value) > 60 else f"`{value}`"
        desc = (field.description or "").replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{key}` | {typ} | {dflt} | {desc} |")
        if inner:
            rows += _md_table(inner[0], key + inner[1] + ".")
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
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
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
