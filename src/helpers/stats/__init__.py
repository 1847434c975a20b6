"""Statistics layer: effect sizes, pooling, subgroups, RevMan-style meta-analysis, small-study tests, sensitivity, concordance."""
