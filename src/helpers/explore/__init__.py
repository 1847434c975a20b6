"""Explore layer: the interactive explorer (selection and plain-language reading; widget app; Voila server)."""
