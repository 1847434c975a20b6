"""Figures layer: style and byte-stable saving; forest, funnel, adverse-event and risk-of-bias plots drawn from stats results."""
