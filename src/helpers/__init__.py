"""nmda-review helpers: a small, exact meta-analysis engine, a Cochrane data-package importer,
figures and the notebook runner for re-running Ferraro et al. 2025 (CD015373.pub2).

Importing this package has no side effects: no files are read or written, no global state is changed.
"""

__version__ = "0.1.0"
