"""A small JSON Schema (draft 2020-12 subset) validator for the vendored OpenLineage schemas.

Supports: $ref (local pointers and other documents by $id), allOf/anyOf/oneOf/not,
type, enum, required, properties, additionalProperties, items and the formats
date-time, uri and uuid. Returns a list of error strings (empty = valid).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "number": (int, float),
    "integer": int,
    "null": type(None),
}


class Validator:
    def __init__(self, folder: Path) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        for f in sorted(folder.glob("*.json")):
            doc = json.loads(f.read_text())
            self.docs[doc["$id"]] = doc

    def _resolve(self, ref: str, base: str) -> tuple[dict[str, Any], str]:
        url, _, pointer = ref.partition("#")
        doc_id = url or base
        node: Any = self.docs[doc_id]
        for part in filter(None, pointer.split("/")):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, doc_id

    def validate(self, instance: Any, schema_id: str, pointer: str = "") -> list[str]:
        schema, base = self._resolve(f"{schema_id}#{pointer}", schema_id)
        return self._check(instance, schema, base, "$")

    def _check(self, x: Any, s: dict[str, Any] | bool, base: str, path: str) -> list[str]:
        if s is True:
            return []
        if s is False:
            return [f"{path}: not allowed"]
        errs: list[str] = []
        if "$ref" in s:
            sub, b = self._resolve(s["$ref"], base)
            errs += self._check(x, sub, b, path)
        for sub in s.get("allOf", []):
            errs += self._check(x, sub, base, path)
        if "anyOf" in s and not any(not self._check(x, sub, base, path) for sub in s["anyOf"]):
            errs.append(f"{path}: matches none of anyOf")
        if "oneOf" in s:
            n = sum(1 for sub in s["oneOf"] if not self._check(x, sub, base, path))
            if n != 1:
                errs.append(f"{path}: matches {n} of oneOf (need exactly 1)")
        if "not" in s and not self._check(x, s["not"], base, path):
            errs.append(f"{path}: matches a 'not' schema")
        t = s.get("type")
        if t is not None:
            py = _TYPES[t]
            if not isinstance(x, py) or (t in ("integer", "number") and isinstance(x, bool)):
                return [*errs, f"{path}: expected {t}"]
        if "enum" in s and x not in s["enum"]:
            errs.append(f"{path}: {x!r} not in {s['enum']}")
        if isinstance(x, str) and "format" in s:
            errs += _format(x, s["format"], path)
        if isinstance(x, dict):
            for r in s.get("required", []):
                if r not in x:
                    errs.append(f"{path}: missing required {r!r}")
            props = s.get("properties", {})
            for k, v in x.items():
                if k in props:
                    errs += self._check(v, props[k], base, f"{path}.{k}")
                elif "additionalProperties" in s:
                    errs += self._check(v, s["additionalProperties"], base, f"{path}.{k}")
        if isinstance(x, list) and "items" in s:
            for i, v in enumerate(x):
                errs += self._check(v, s["items"], base, f"{path}[{i}]")
        return errs


def _format(x: str, fmt: str, path: str) -> list[str]:
    try:
        if fmt == "date-time":
            if "T" not in x:
                raise ValueError(x)
            datetime.fromisoformat(x.replace("Z", "+00:00"))
        elif fmt == "uuid":
            uuid.UUID(x)
        elif fmt == "uri":
            u = urlparse(x)
            if not u.scheme:
                raise ValueError(x)
    except ValueError:
        return [f"{path}: {x!r} is not a valid {fmt}"]
    return []
