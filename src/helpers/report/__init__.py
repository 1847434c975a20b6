"""Report layer: what a run draws and tabulates, and the calls the notebooks make."""
