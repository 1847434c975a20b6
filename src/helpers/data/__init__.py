"""Data layer: reading (and writing) Cochrane data packages, the tidy schema, review maps, the Dataset."""
