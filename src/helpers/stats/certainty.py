"""GRADE assist: the certainty of the evidence of one analysis, *proposed by the assist from the data*.

A certainty rating is a judgement of the review's authors; what this module gives is an inference from the
numbers, labelled ``ASSIST`` everywhere, with its evidence in words and numbers. The five GRADE domains are
rated ``no concern`` / ``serious`` / ``very serious`` (:data:`helpers.data.judgements.RATINGS`) by the rules
below; where the data cannot decide a domain says ``not assessed`` or ``not assessable`` and costs nothing.
The authors' judgements (:mod:`helpers.data.judgements`) replace the proposal for their domain and are shown
as the authors'.

Overall (GRADE guidance 3, Balshem et al. 2011, J Clin Epidemiol 64:401; Cochrane Handbook ch. 14, Schünemann
et al. 2023, 14.2.1): a body of randomised trials starts at ``high``; each ``serious`` domain lowers it one level,
each ``very serious`` two; the floor is ``very low``. Every downgrade is listed in ``trace``.

Risk of bias (GRADE guidance 4, Guyatt et al. 2011, J Clin Epidemiol 64:407: "one should be confident that there
is substantial risk of bias across most of the body of available evidence before one rates down"; Cochrane
Handbook 5.1, Table 12.2.d: no downgrade when "most information is from studies at low risk of bias"). Rule
chosen: the share of the analysis's weight from studies judged ``Some concerns`` or ``High`` (RoB 2 overall
judgement) > ``MAJORITY`` % -> serious; the share from ``Low`` > ``MAJORITY`` % -> no concern; otherwise (too
much weight unjudged) not assessable. Very serious needs a judgement of how crucial the limitations are, which
the data cannot give: the assist never proposes it. Where a study has no overall judgement its worst judged
domain is used (RoB 2: the overall judgement is at least as severe as the worst domain; Sterne et al. 2019, BMJ
366:l4898), and the rating is marked partial, naming the domains it rests on.

Inconsistency (GRADE guidance 7, Guyatt et al. 2011, J Clin Epidemiol 64:1294; Core GRADE 3, Guyatt et al.
2025, BMJ 389:e081905; GRADE guidance 36, 2023). I² bands from Cochrane Handbook 10.10.2 ("50% to 90%: may
represent substantial heterogeneity; 75% to 100%: considerable"). Rule chosen, since the guidance leaves the
cut-offs to judgement: I² < ``I2_SUBSTANTIAL`` -> no concern; I² at or above it with every study estimate on the
same side of the null and every pair of study CIs overlapping -> no concern (GRADE 36: a large I² need not mean
important inconsistency); I² >= ``I2_CONSIDERABLE`` with estimates on both sides of the null and a prediction
interval reaching beyond the decision threshold on both sides -> very serious; otherwise serious.

Imprecision: :mod:`helpers.stats.precision` (the pooled CI against the null and the decision thresholds, RR
0.75/1.25 or the MID, then the optimal information size; GRADE guidance 6, Guyatt et al. 2011, J Clin Epidemiol
64:1283; Core GRADE 2, 2025).

Publication bias (Cochrane Handbook 13.3.5.4, Page, Higgins & Sterne 2023: funnel-plot tests only with at least
10 studies; GRADE guidance 5, Guyatt et al. 2011, J Clin Epidemiol 64:1277): k < ``MIN_K_PUBLICATION`` -> not
assessable; else Egger's test (:func:`helpers.stats.bias.egger`) P < ``EGGER_P`` (Egger et al. 1997 used 0.10)
-> serious ("suspected"), else no concern ("undetected").

Indirectness: not computable from the data: the authors' judgement, else ``not assessed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core.results import ResultMixin
from helpers.data.judgements import DOMAINS, DOWNGRADE, CertaintyInputs
from helpers.data.schema import ROB_COLUMNS
from helpers.stats import bias
from helpers.stats.meta import MetaAnalysis
from helpers.stats.precision import imprecision_rating, shown, threshold_words, thresholds

ASSIST = "proposed by the assist from the data"
LEVELS = ("high", "moderate", "low", "very low")
SYMBOLS = {"high": "⊕⊕⊕⊕", "moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}
NOT_ASSESSED = "not assessed"
NOT_ASSESSABLE = "not assessable"
MAJORITY = 50.0  # percent of the analysis's weight ("most information")
I2_SUBSTANTIAL = 50.0  # Handbook 10.10.2: "50% to 90%: may represent substantial heterogeneity"
I2_CONSIDERABLE = 75.0  # Handbook 10.10.2: "75% to 100%: considerable heterogeneity"
MIN_K_PUBLICATION = 10  # Handbook 13.3.5.4
EGGER_P = 0.10  # Egger et al. 1997
DOMAIN_WORDS = {"risk_of_bias": "risk of bias", "inconsistency": "inconsistency", "indirectness": "indirectness",
                "imprecision": "imprecision", "publication_bias": "publication bias"}
_ROB_ORDER = {"Low": 0, "Some concerns": 1, "High": 2}
_ROB_NAMES = {"rob_d1": "D1", "rob_d2": "D2", "rob_d3": "D3", "rob_d4": "D4", "rob_d5": "D5", "rob_overall": "overall"}


@dataclass(frozen=True, repr=False)
class DomainRating(ResultMixin):
    """One domain: ``rating`` (a RATINGS value, ``not assessed`` or ``not assessable``), the ``reason`` in words
    and numbers, ``by`` ``assist`` (proposed from the data) or ``authors`` (their judgement), ``partial`` when
    it rests on part of what the domain needs."""

    domain: str
    rating: str
    reason: str
    by: str = "assist"
    partial: bool = False

    @property
    def downgrade(self) -> int:
        """Levels this domain costs: 1 serious, 2 very serious, 0 otherwise."""
        return DOWNGRADE.get(self.rating, 0)


@dataclass(frozen=True, repr=False)
class Certainty(ResultMixin):
    """The certainty of one analysis: its five domains, the overall level and how it was reached."""

    analysis_id: str
    measure: str
    k: int
    domains: tuple[DomainRating, ...]
    certainty: str
    trace: str
    label: str = ASSIST

    @property
    def symbols(self) -> str:
        return SYMBOLS[self.certainty]

    @property
    def unrated(self) -> tuple[str, ...]:
        """Domains the data could not rate (not assessed / not assessable): the level is then an upper bound."""
        return tuple(d.domain for d in self.domains if d.rating.startswith((NOT_ASSESSED, NOT_ASSESSABLE)))

    def domain(self, name: str) -> DomainRating:
        return next(d for d in self.domains if d.domain == name)

    def to_frame(self) -> pd.DataFrame:
        """One row: each domain's rating (column named for the domain) and ``<domain>_reason``, then
        ``certainty``, its symbols, the trace and the label."""
        row = {"analysis_id": self.analysis_id, "measure": self.measure, "k": self.k}
        for d in self.domains:
            row[d.domain] = d.rating + (" (authors)" if d.by == "authors" else "") + (" (partial)" if d.partial else "")
            row[f"{d.domain}_reason"] = d.reason
        return pd.DataFrame([row | {"certainty": self.certainty, "symbols": self.symbols, "trace": self.trace,
                                    "label": self.label}])

    def summary(self) -> str:
        lines = [f"Analysis {self.analysis_id} ({self.measure}, k = {self.k}): certainty {self.symbols} "
                 f"{self.certainty}, {self.label}", f"  {self.trace}"]
        lines += [f"  {DOMAIN_WORDS[d.domain]}: {d.rating}{' [authors]' if d.by == 'authors' else ''}: {d.reason}"
                  for d in self.domains]
        return "\n".join(lines)


def overall_certainty(domains) -> tuple[str, str]:
    """``(level, trace)``: randomised trials start ``high``, minus one level per serious and two per very
    serious domain, floor ``very low`` (Balshem et al. 2011; Handbook 14.2.1). Domains not rated (not assessed
    or not assessable) cost nothing, so the level is then an upper bound, and the trace says so."""
    steps = [f"{DOMAIN_WORDS[d.domain]} {d.rating}{' (authors)' if d.by == 'authors' else ''} -{d.downgrade}"
             for d in domains if d.downgrade]
    total = sum(d.downgrade for d in domains)
    level = LEVELS[min(total, len(LEVELS) - 1)]
    floor = " (floor)" if total >= len(LEVELS) else ""
    trace = "start high (randomised trials)" + "".join(f"; {s}" for s in steps) + f" = {level}{floor}"
    open_ = [DOMAIN_WORDS[d.domain] for d in domains if d.rating.startswith(("not assessed", "not assessable"))]
    if open_ and level != LEVELS[-1]:
        trace += f"; at most {level}: {', '.join(open_)} not rated"
    return level, trace


def _pct(x: float) -> str:
    return f"{x:.0f}%"


def risk_of_bias(studies: pd.DataFrame, rob: pd.DataFrame) -> DomainRating:
    """Risk of bias from ``studies`` (``study``, ``weight`` in % of the analysis) and ``rob`` (``study`` and the
    RoB 2 columns ``schema.ROB_COLUMNS``; see the module docstring for the rule)."""
    weights = studies[["study", "weight"]].dropna(subset=["weight"])
    judged = rob.drop_duplicates("study").set_index("study").reindex(weights["study"])
    cols = [c for c in ROB_COLUMNS if c in judged.columns]
    levels, used, partial_studies = [], set(), 0
    for _, row in judged[cols].iterrows():
        given = {c: row[c] for c in cols if isinstance(row[c], str) and row[c] in _ROB_ORDER}
        if "rob_overall" in given:
            levels.append(given["rob_overall"])
            used.add("rob_overall")
        elif given:
            levels.append(max(given.values(), key=_ROB_ORDER.get))
            used.update(given)
            partial_studies += 1
        else:
            levels.append(None)
    w = weights["weight"].to_numpy(float)
    lv = np.array(levels, dtype=object)
    low, concern = w[lv == "Low"].sum(), w[(lv == "Some concerns") | (lv == "High")].sum()
    high, unjudged = w[lv == "High"].sum(), w[pd.isna(lv)].sum()
    if unjudged >= w.sum() - 1e-9:
        return DomainRating("risk_of_bias", NOT_ASSESSED, "no RoB 2 judgement in the data for these studies")
    partial = partial_studies > 0
    basis = ""
    if partial:
        domains = ", ".join(_ROB_NAMES[c] for c in ROB_COLUMNS if c in used and c != "rob_overall")
        missing = ", ".join(_ROB_NAMES[c] for c in ROB_COLUMNS if c not in used)
        basis = (f"; partial: {partial_studies} of {len(levels)} studies judged on {domains} only ({missing} not "
                 "in the data), their worst judged domain taken as a lower bound of the overall judgement")
    shares = (f"{_pct(concern)} of the weight from studies at some concerns or high risk ({_pct(high)} high), "
              f"{_pct(low)} low" + (f", {_pct(unjudged)} not judged" if unjudged > 0 else ""))
    if concern > MAJORITY:
        return DomainRating("risk_of_bias", "serious", f"{shares}: most information at some concerns or high risk"
                            f"{basis}", partial=partial)
    if low > MAJORITY:
        return DomainRating("risk_of_bias", "no concern", f"{shares}: most information at low risk{basis}",
                            partial=partial)
    return DomainRating("risk_of_bias", NOT_ASSESSABLE, f"{shares}: neither low nor concerning risk carries most "
                        f"of the weight{basis}", partial=partial)


def inconsistency(ma: MetaAnalysis, t: tuple[float, float] | None) -> DomainRating:
    """Inconsistency of ``ma`` against the null and the thresholds ``t`` (analysis scale; module docstring)."""
    res, m = ma.overall, ma.measure
    if res.k < 2:
        return DomainRating("inconsistency", NOT_ASSESSABLE, "one study: no inconsistency to assess")
    yi, vi = ma.studies["yi"].to_numpy(float), ma.studies["vi"].to_numpy(float)
    keep = ~np.isnan(ma.studies["weight"].to_numpy(float))
    yi, vi = yi[keep], vi[keep]
    half = 1.959963984540054 * np.sqrt(vi)
    both_sides = bool((yi < 0).any() and (yi > 0).any())
    apart = bool((yi - half).max() > (yi + half).min())
    tau = f", tau² {res.tau2:.4g}" if ma.model == "random" else ""
    pi_wide = False
    if np.isfinite(res.pi_low):
        pi = (f", 95% prediction interval {shown(m, res.pi_low)} to {shown(m, res.pi_high)} "
              + ("(includes the null)" if res.pi_low < 0 < res.pi_high else "(excludes the null)"))
        if t is not None:
            pi_wide = bool(res.pi_low < t[0] and res.pi_high > t[1])
            pi += f", {'beyond' if pi_wide else 'not beyond'} the thresholds {threshold_words(m, t)} on both sides"
    else:
        pi = ", no prediction interval (k < 3 or fixed effect)"
    facts = (f"I² {res.i2:.0f}%{tau}, heterogeneity P {res.q_p:.2g}{pi}; study estimates "
             f"{'on both sides of' if both_sides else 'on one side of'} the null; "
             f"{'some study CIs do not overlap' if apart else 'study CIs overlap'}")
    if res.i2 < I2_SUBSTANTIAL:
        return DomainRating("inconsistency", "no concern", f"{facts}: I² below {I2_SUBSTANTIAL:.0f}%")
    if not both_sides and not apart:
        return DomainRating("inconsistency", "no concern", f"{facts}: estimates agree in direction despite I²")
    if res.i2 >= I2_CONSIDERABLE and both_sides and pi_wide:
        return DomainRating("inconsistency", "very serious", f"{facts}: considerable heterogeneity in both directions")
    return DomainRating("inconsistency", "serious", f"{facts}: substantial heterogeneity")


def publication_bias(ma: MetaAnalysis) -> DomainRating:
    """Egger's test when at least ``MIN_K_PUBLICATION`` studies entered, else not assessable."""
    st = ma.studies.dropna(subset=["weight"])
    if len(st) < MIN_K_PUBLICATION:
        return DomainRating("publication_bias", f"{NOT_ASSESSABLE} (k < {MIN_K_PUBLICATION})",
                            f"k = {len(st)}: funnel-plot tests need at least {MIN_K_PUBLICATION} studies")
    if np.ptp(st["vi"].to_numpy(float)) == 0:  # Egger's regression on the SE has no slope to fit
        return DomainRating("publication_bias", f"{NOT_ASSESSABLE} (all studies equally precise)",
                            f"k = {len(st)} studies with the same standard error: no funnel to test")
    eg = bias.egger(st["yi"], st["vi"], labels=st["study"])
    if eg.p < EGGER_P:
        return DomainRating("publication_bias", "serious", f"Egger's test P {eg.p:.2g} < {EGGER_P}: suspected")
    return DomainRating("publication_bias", "no concern", f"Egger's test P {eg.p:.2g} >= {EGGER_P}: undetected")


def assess(ma: MetaAnalysis, analysis_id: str, rob: pd.DataFrame, inputs: CertaintyInputs | None = None,
           mid: float | None = None) -> Certainty:
    """Propose the certainty of one analysis. ``rob``: the studies table (``study`` + RoB 2 columns);
    ``inputs``: the authors' judgements (override their domain); ``mid``: the outcome's MID (analysis scale,
    MD/SMD; ratio measures use RR 0.75/1.25)."""
    inputs = inputs or CertaintyInputs()
    t = thresholds(ma.measure, mid)
    proposed = {
        "risk_of_bias": risk_of_bias(ma.studies, rob),
        "inconsistency": inconsistency(ma, t),
        "indirectness": DomainRating("indirectness", NOT_ASSESSED, "not computable from the data; no authors' "
                                     "judgement given"),
        "imprecision": DomainRating("imprecision", *imprecision_rating(ma, t, mid)),
        "publication_bias": publication_bias(ma),
    }
    domains = []
    for name in DOMAINS:
        found = inputs.judgement(analysis_id, name)
        if found:
            was = proposed[name]
            domains.append(DomainRating(name, found[0], f"{found[1]} (the assist proposed: {was.rating})", "authors"))
        else:
            domains.append(proposed[name])
    level, trace = overall_certainty(domains)
    return Certainty(str(analysis_id), ma.measure, int(ma.overall.k), tuple(domains), level, trace)
