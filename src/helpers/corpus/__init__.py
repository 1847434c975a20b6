"""Corpus mode: every review of a folder loaded, its settings read off RevMan's values, every analysis pooled.

``python -m helpers.corpus FOLDER --out DIR [--jobs N]`` (:mod:`helpers.corpus.cli`); one review's work is
:func:`helpers.corpus.review.pool_review`.
"""
