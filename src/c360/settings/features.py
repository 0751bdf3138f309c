"""Settings of the features capability (``features:`` in c360.yaml)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, ValidationError

from c360.errors import ConfigError
from c360.settings.base import Block


class FeaturesSettings(Block):
    """Feature views, materialisation and the online projection."""

    views_dir: str = Field(
        "features",
        description="Workspace folder of feature view YAML files; they add to the packaged "
        "views or replace one of the same name.",
    )
    backfill_days: int = Field(
        0,
        ge=0,
        description="Days before as_of a view is materialised for on its first run (or after "
        "its definition changed); later runs add each day since the last one.",
    )
    online: bool = Field(
        True, description="Sync the latest values to the operational store after materialising."
    )
    redis_url: str | None = Field(
        None,
        description="Also sync online features and scores to this Redis (e.g. "
        "redis://127.0.0.1:6379/0); C360_REDIS_URL overrides it.",
    )
    redis_prefix: str = Field(
        "c360",
        min_length=1,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of this workspace's Redis keys (<prefix>:features:<golden_id>, "
        "<prefix>:scores:<golden_id>); give each workspace sharing a server its own.",
    )

    def effective_redis_url(self) -> str | None:
        return os.environ.get("C360_REDIS_URL") or self.redis_url


def load_settings(raw: dict[str, Any]) -> FeaturesSettings:
    try:
        return FeaturesSettings.model_validate(raw or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(message=f"c360.yaml: features.{loc}: {err['msg']}") from exc
