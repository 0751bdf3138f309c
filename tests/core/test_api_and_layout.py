"""The public API is small and importable (the layer rules: test_layering.py)."""

from __future__ import annotations

import c360


def test_public_api_imports():
    for name in c360.__all__:
        assert getattr(c360, name) is not None
