"""Reading ``c360.yaml`` and contracts: YAML with line numbers, env overrides, clear errors.

A validation error names the key, the file and the line (``c360.yaml: unknown key
'identity.thresholds.auto_lnk' (line 4)``), or the environment variable that set
the bad value. Environment variables ``C360_<BLOCK>__<KEY>__…`` override any key
at any depth (pydantic-settings' nested delimiter); :data:`ENV_SHORTCUTS` are the
short forms kept for the two settings people set most.

Files written before the typed blocks existed kept capability settings under
``extensions: {consent: …, governance: …, identity: …}``; :func:`lift_extensions`
moves them to their top-level blocks (with a warning) so such files keep loading.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource

from c360.errors import ConfigError

log = logging.getLogger("c360.config")

ENV_PREFIX = "C360_"
ENV_DELIMITER = "__"
# Short forms: variable -> the key it sets.
ENV_SHORTCUTS: dict[str, tuple[str, ...]] = {
    "C360_STORE_URL": ("store", "url"),
    "C360_LAKEHOUSE_PATH": ("lakehouse", "path"),
}

Path_ = tuple[str, ...]


class YamlDoc:
    """A parsed YAML mapping and the line of every key and list item in it."""

    def __init__(self, file: Path, data: dict[str, Any], lines: dict[Path_, int]) -> None:
        self.file = file
        self.data = data
        self.lines = lines
        self.moved: dict[Path_, Path_] = {}  # new location -> where the file had it

    def line_of(self, loc: Path_) -> int | None:
        """Line of the deepest key of ``loc`` the file holds (None if none of it is there)."""
        for n in range(len(loc), 0, -1):
            prefix = loc[:n]
            for old_new in self.moved.items():
                new, old = old_new
                if prefix[: len(new)] == new:
                    prefix = old + prefix[len(new) :]
                    break
            if prefix in self.lines:
                return self.lines[prefix]
        return None


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            lines[sub] = key.start_mark.line + 1
            _walk(value, sub, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*path, str(i))
            lines[sub] = item.start_mark.line + 1
            _walk(item, sub, lines)


def read_yaml(file: Path) -> YamlDoc:
    """Parse a YAML mapping; errors name the file (and YAML's own line/column)."""
    details = {"file": str(file)}
    try:
        text = file.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(message=f"{file}: not valid YAML: {exc}", details=details) from exc
    except OSError as exc:
        raise ConfigError(message=f"{file}: cannot read: {exc}", details=details) from exc
    if not isinstance(data, dict):
        raise ConfigError(message=f"{file}: expected a mapping at the top level", details=details)
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return YamlDoc(file, data, lines)


def lift_extensions(doc: YamlDoc, blocks: Mapping[str, Any]) -> None:
    """Move ``extensions.<block>`` of an older file to the top-level ``<block>``."""
    ext = doc.data.pop("extensions", None)
    if ext is None:
        return
    if not isinstance(ext, dict):
        line = doc.lines.get(("extensions",))
        raise ConfigError(
            message=f"{doc.file}: 'extensions' must be a mapping (line {line})",
            details={"file": str(doc.file), "line": line},
        )
    for name, value in ext.items():
        line = doc.lines.get(("extensions", str(name)))
        if name not in blocks:
            raise ConfigError(
                message=f"{doc.file}: unknown key 'extensions.{name}' (line {line}); "
                f"settings blocks are: {', '.join(sorted(blocks))}",
                details={"file": str(doc.file), "key": f"extensions.{name}", "line": line},
            )
        current = doc.data.get(name) or {}
        if not isinstance(value, dict) or not isinstance(current, dict):
            raise ConfigError(
                message=f"{doc.file}: 'extensions.{name}' must be a mapping (line {line})",
                details={"file": str(doc.file), "key": f"extensions.{name}", "line": line},
            )
        both = sorted(set(current) & set(value))
        if both:
            raise ConfigError(
                message=f"{doc.file}: '{name}.{both[0]}' is set both under '{name}' and under "
                f"'extensions.{name}' (line {line}); keep the one under '{name}'",
                details={"file": str(doc.file), "key": f"{name}.{both[0]}", "line": line},
            )
        doc.data[name] = {**current, **value}
        for key in value:
            doc.moved[(name, str(key))] = ("extensions", name, str(key))
        log.warning(
            "%s: 'extensions.%s' is deprecated; move its keys to a top-level '%s:' block",
            doc.file,
            name,
            name,
        )


class Env(EnvSettingsSource):
    """``C360_*`` variables of ``environ`` (not necessarily ``os.environ``) as nested values."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = {k: v for k, v in environ.items() if k.upper().startswith(ENV_PREFIX)}
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items()}

    def __call__(self) -> dict[str, Any]:
        out = super().__call__()
        for var, path in ENV_SHORTCUTS.items():
            value = next((v for k, v in self._environ.items() if k.upper() == var), None)
            if value is not None and not self.has_nested(path):
                at = out
                for part in path[:-1]:
                    at = at.setdefault(part, {})
                at[path[-1]] = value
        return out

    def has_nested(self, path: Path_) -> bool:
        var = ENV_PREFIX + ENV_DELIMITER.join(path)
        return any(k.upper() == var.upper() for k in self._environ)

    def variable_for(self, loc: Path_) -> str | None:
        """The variable that set ``loc`` (or a key above it), if one did."""
        upper = {k.upper(): k for k in self._environ}
        for n in range(len(loc), 0, -1):
            var = (ENV_PREFIX + ENV_DELIMITER.join(loc[:n])).upper()
            if var in upper:
                return upper[var]
        for var, path in ENV_SHORTCUTS.items():
            if loc[: len(path)] == path and var in upper:
                return upper[var]
        return None


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def explain(exc: ValidationError, doc: YamlDoc | None, file: Path, env: Env | None = None) -> str:
    """One line naming each bad key, the file and line (or the variable that set it)."""
    parts = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc)
        what = (
            f"unknown key '{key}'" if err["type"] == "extra_forbidden" else f"'{key}': {err['msg']}"
        )
        var = env.variable_for(loc) if env is not None else None
        line = doc.line_of(loc) if doc is not None and loc else None
        if var is not None:
            what += f" (from environment variable {var})"
        elif line is not None:
            what += f" (line {line})"
        parts.append(what)
    return f"{file}: " + "; ".join(parts)


def validate(
    model: type[BaseModel],
    data: dict[str, Any],
    doc: YamlDoc | None,
    file: Path,
    env: Env | None = None,
    code: str = "config.invalid",
) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(code, explain(exc, doc, file, env), {"file": str(file)}) from exc
