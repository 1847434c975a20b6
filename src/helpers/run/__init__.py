"""Run layer: plan and run the notebook set (runner, execute), the manifest, verify, the command line. ``python -m helpers.run``."""
