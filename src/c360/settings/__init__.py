"""The typed blocks of ``c360.yaml``, one module per capability (the config layer).

``c360.config.Config`` is the root model; each capability's settings are a
pydantic model here, so the whole file is validated at load time: an unknown or
misspelt key at any depth is an error naming the key, the file and the line, and
``C360_<BLOCK>__<KEY>__<SUBKEY>…`` environment variables override any setting.

These modules sit in the bottom layer (they import only pydantic, yaml,
``c360.errors`` and each other), so every capability may import its own block
and nothing here can pull a capability in.

Adding a block for a new capability (say ``features``):

1. write ``src/c360/settings/features.py`` with ``class FeaturesSettings(Block)``
   (every field a ``Field(default, description=...)``: the description is the
   documentation of the key in ``docs/reference/configuration.md``);
2. add one line to ``Config`` in ``c360/config.py``:
   ``features: FeaturesSettings = block(FeaturesSettings)``;
3. run ``make docs``. The capability reads ``ws.config.features``.
"""
