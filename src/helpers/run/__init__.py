"""Run layer: the papermill runner, the manifest and verify. ``python -m helpers.run``."""
