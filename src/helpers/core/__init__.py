"""Foundation every layer may use: project paths, argument checks, result dataclass mixin."""
