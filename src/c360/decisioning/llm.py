"""An optional reasoner on any OpenAI-compatible endpoint, boxed in by the agent.

The reasoner sees the evidence and the list of *already allowed* candidates (ids,
descriptions, priorities — no names, addresses or identifiers of the customer) and may
return ``{"action": <one of the allowed ids>, "rationale": <text>}``. The agent keeps
only what is allowed: a choice outside the allowed set, a malformed or non-JSON reply,
an error or a timeout leaves the deterministic choice in place; rationale text is
truncated and stripped of control characters. Prompt, raw response and what was kept
are logged with the decision.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from c360.settings.decisioning import LlmSettings

MAX_RATIONALE = 600
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

SYSTEM = (
    "You explain next-best-action decisions of a bank to a contact-centre agent. "
    'Answer with JSON only: {"action": one of the allowed action ids, "rationale": '
    "two sentences grounded in the evidence}. Never propose an action that is not listed."
)


@dataclass
class LlmOutcome:
    action: str | None
    rationale: str | None
    exchange: dict[str, Any] = field(default_factory=dict)


def clean(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    text = _CONTROL.sub(" ", text).strip()
    return text[:MAX_RATIONALE] or None


class Reasoner:
    """Calls ``POST {url}/chat/completions``; never raises (failures are logged outcomes)."""

    def __init__(self, settings: LlmSettings) -> None:
        self.s = settings

    @property
    def enabled(self) -> bool:
        return bool(self.s.url)

    def advise(self, evidence: dict[str, Any], allowed: list[dict[str, Any]]) -> LlmOutcome:
        ids = [c["action"] for c in allowed]
        prompt = json.dumps({"evidence": evidence, "allowed": allowed}, default=str, sort_keys=True)
        body = {
            "model": self.s.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": prompt},
            ],
        }
        exchange: dict[str, Any] = {"url": self.s.url, "model": self.s.model, "prompt": prompt}
        t0 = time.perf_counter()
        try:
            raw = self._post(body)
            exchange["response"] = raw[:4000]
            content = json.loads(raw)["choices"][0]["message"]["content"]
            reply = json.loads(content) if isinstance(content, str) else None
            if not isinstance(reply, dict):
                raise ValueError("reply is not a JSON object")
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            exchange.update(error=f"{type(exc).__name__}: {exc}"[:300], kept="nothing")
            exchange["ms"] = round((time.perf_counter() - t0) * 1000, 1)
            return LlmOutcome(None, None, exchange)
        exchange["ms"] = round((time.perf_counter() - t0) * 1000, 1)
        action = reply.get("action")
        chosen = (
            action
            if self.s.mode == "choose" and isinstance(action, str) and action in ids
            else None
        )
        if self.s.mode == "choose" and action is not None and chosen is None:
            exchange["rejected_action"] = str(action)[:80]
        rationale = clean(reply.get("rationale"))
        exchange["kept"] = {"action": chosen, "rationale": rationale is not None}
        return LlmOutcome(chosen, rationale, exchange)

    def _post(self, body: dict[str, Any]) -> str:
        url = str(self.s.url).rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self.s.api_key_env and os.environ.get(self.s.api_key_env):
            headers["Authorization"] = f"Bearer {os.environ[self.s.api_key_env]}"
        req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.s.timeout_s) as resp:
                return str(resp.read(1_000_000).decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            raise OSError(f"HTTP {exc.code}") from exc
