"""Every candidate setting's per-study values for all analyses of a review at once (the settings inference's engine).

:func:`helpers.stats.infer.infer_settings` compares, for each analysis and each candidate (measure, method,
model) RevMan offers for its data type (``CANDIDATES``), the study estimates, CIs and weights the candidate gives
with RevMan's own. Done analysis by analysis through :func:`helpers.stats.meta.meta_analysis` that is a dozen full
fits per analysis; here the same numbers come from a few array operations over every row of the review:

- study estimates and CIs depend on the measure only (Peto's on Peto's O - E and V): one
  :func:`helpers.stats.effects.effect_sizes` (or :func:`helpers.stats.pooling.peto_effects`) call per measure
  over all rows; y_i ± z sqrt(v_i) on the display scale at the study CI levels RevMan offers (``LEVELS``);
- study weights (percent of the pooling a row enters: the analysis' overall pooling, or its subgroup's when
  RevMan printed weights per subgroup, :func:`helpers.stats.concordance.weight_basis`; Applicability
  SUBGROUP_ONLY / OVERALL_ONLY as :func:`~helpers.stats.meta.meta_analysis`) are sums per pooling group
  (``np.bincount``): IV fixed 1/v_i; IV random 1/(v_i + tau²) with DerSimonian-Laird tau² from Cochran's Q; MH
  fixed the Mantel-Haenszel weights (OR b c/N, RR c n_e/N, RD n_e n_c/N, cells corrected as the preset says);
  MH random 1/(v_i + tau²) with DL tau² from the MH-based Q; Peto V_i (the formulas of
  :mod:`helpers.stats.pooling`, which documents them with their sources).

An analysis these arrays cannot stand for (a row meta_analysis would refuse: bad arm values, a missing
subgroup, an unknown Applicability, no row left for a pooling, a non-finite weight) is returned in ``irregular``
for the caller to fit one by one. ``tests/test_infer.py`` checks that the choices agree with the one-by-one fits
on real reviews.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.checks import MEASURES, RATIO_MEASURES
from helpers.data.schema import APPLICABILITY
from helpers.stats.concordance import revman_tolerance, weight_basis
from helpers.stats.effects import corrected_cells, display_scale, effect_sizes
from helpers.stats.pooling import peto_effects
from helpers.stats.presets import REVMAN

CANDIDATES = {
    "dichotomous": tuple((m, meth, mod) for m in ("RR", "OR", "RD") for meth in ("MH", "IV")
                         for mod in ("random", "fixed")) + (("OR", "Peto", "fixed"),),
    "continuous": tuple((m, "IV", mod) for m in ("MD", "SMD") for mod in ("random", "fixed")),
    "giv": tuple((m, "IV", mod) for m in MEASURES for mod in ("random", "fixed")),
}  # fmt: skip
#: study CI levels RevMan offers, 95 % first (a review may print its study CIs at 99 %)
LEVELS = (0.95, 0.99, 0.90)
ARM = ("events_e", "n_e", "events_c", "n_c", "mean_e", "sd_e", "mean_c", "sd_c", "giv_estimate", "giv_se")
NEEDED = {"dichotomous": ("events_e", "n_e", "events_c", "n_c"),
          "continuous": ("mean_e", "sd_e", "n_e", "mean_c", "sd_c", "n_c"), "giv": ("giv_estimate", "giv_se")}
PUBLISHED = ("estimate", "ci_low", "ci_high", "weight")


def only_needed(rows: pd.DataFrame, data_type: str) -> pd.DataFrame:
    """``rows`` with the arm cells its data type does not use emptied (the export's 0.0 placeholders)."""
    rows = rows.copy()
    for col in ARM:
        if col not in NEEDED[data_type] and col not in ("n_e", "n_c"):
            rows[col] = np.nan
    return rows


def tolerances(published: np.ndarray, precision: str) -> np.ndarray:
    """RevMan's printed precision per published value plus a few ulps (as :func:`concordance.judge`)."""
    tol = np.array([revman_tolerance(v, precision) if np.isfinite(v) else np.nan for v in published.ravel()])
    tol += 8 * np.finfo(float).eps * np.maximum(np.abs(published.ravel()), 1.0)
    return tol.reshape(published.shape)


def judge(published: np.ndarray, ours: np.ndarray, tol: np.ndarray, codes: np.ndarray, n: int):
    """(ok, largest difference, values off) per analysis for one quantity (columns of equal shape): ok when the
    empty cells coincide and every difference is within ``tol``; the difference is inf when the empty cells
    differ; values off counts the differences beyond ``tol``."""
    pub_nan, our_nan = np.isnan(published), np.isnan(ours)
    both = ~pub_nan & ~our_nan
    d = np.where(both, np.abs(published - np.where(both, ours, 0.0)), 0.0)
    code = np.broadcast_to(codes[:, None], published.shape)
    gaps = np.bincount(code.ravel(), weights=(pub_nan != our_nan).ravel(), minlength=n) > 0
    n_off = np.bincount(code.ravel(), weights=(both & (d > tol)).ravel(), minlength=n)
    largest = np.zeros(n)
    np.maximum.at(largest, code.ravel(), d.ravel())
    return ~gaps & (n_off == 0), np.where(gaps, np.inf, largest), n_off


def _share(w: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Percent of each row's weight in its group's total (NaN where ``group`` is -1)."""
    inside = group >= 0
    total = np.bincount(group[inside], weights=w[inside], minlength=n)
    out = np.full(len(w), np.nan)
    out[inside] = 100.0 * w[inside] / total[group[inside]]
    return out


def _dl(y, v, group, n, q=None):
    """DerSimonian-Laird tau² per group (truncated at 0; NaN for one study), Q from the IV fixed mean unless
    given (:func:`helpers.stats.tau2.tau2_dl`)."""
    inside = group >= 0
    g, y, v = group[inside], y[inside], v[inside]
    w = 1.0 / v
    sw, sw2 = np.bincount(g, w, n), np.bincount(g, w**2, n)
    k = np.bincount(g, minlength=n)
    if q is None:
        mu = np.bincount(g, w * y, n) / np.where(sw > 0, sw, 1.0)
        q = np.bincount(g, w * (y - mu[g]) ** 2, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = np.maximum(0.0, (q - (k - 1)) / (sw - sw2 / sw))
    return np.where(k == 1, np.nan, tau2)


def _random(y, v, group, n, q=None):
    tau2 = _dl(y, v, group, n, q)
    t = np.where(group >= 0, tau2[np.maximum(group, 0)], 0.0)
    return 1.0 / (v + np.where(np.isnan(t), 0.0, t))


def _mh(cells, measure, group, n, model, y, v):
    """MH weights per row (fixed) or 1/(v_i + tau²) with tau² from the MH-based Q (random)."""
    a, b, c, d = cells
    n1, n2 = a + b, c + d
    total = n1 + n2
    if measure == "OR":
        r, s = a * d / total, b * c / total
    elif measure == "RR":
        r, s = a * n2 / total, c * n1 / total
    else:
        s = n1 * n2 / total
        r = s * (a / n1 - c / n2)
    if model == "fixed":
        return s
    inside = group >= 0
    g = group[inside]
    sr, ss = np.bincount(g, r[inside], n), np.bincount(g, s[inside], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = np.log(sr / ss) if measure in RATIO_MEASURES else sr / ss
    q = np.bincount(g, (y[inside] - est[g]) ** 2 / v[inside], n)
    return _random(y, v, group, n, q)


class _Review:
    """The rows of one data type across analyses, with what every candidate shares."""

    def __init__(self, rows: pd.DataFrame, precision: str):
        self.rows = rows.reset_index(drop=True)
        self.aids = list(dict.fromkeys(self.rows["analysis_id"]))
        self.codes = pd.Categorical(self.rows["analysis_id"], categories=self.aids).codes.astype(int)
        self.n = len(self.aids)
        self.pub = self.rows[list(PUBLISHED)].to_numpy(dtype=float)
        self.tol = tolerances(self.pub, precision)
        self.irregular: set = set()
        sg = self.rows["subgroup"]
        has_sg = np.bincount(self.codes, sg.notna().to_numpy(), self.n) > 0
        app = self.rows["applicability"] if "applicability" in self.rows else pd.Series(None, index=self.rows.index)
        has_app = np.bincount(self.codes, app.notna().to_numpy(), self.n) > 0
        where = app.where(has_app[self.codes]).fillna(APPLICABILITY[0]).astype(str)
        self._flag(~where.isin(APPLICABILITY).to_numpy())
        self.in_overall = (where != "SUBGROUP_ONLY").to_numpy()
        self.in_subgroup = (where != "OVERALL_ONLY").to_numpy() & has_sg[self.codes]
        self._flag(sg.isna().to_numpy() & has_sg[self.codes] & where.ne("OVERALL_ONLY").to_numpy())
        labels = pd.Series(list(zip(self.codes, sg.astype(str))))
        self.sub_codes, sub_keys = pd.factorize(labels)
        self.n_sub = len(sub_keys)
        basis = {aid: weight_basis(part["weight"], part["subgroup"])
                 for aid, part in self.rows.groupby("analysis_id", sort=False)}  # fmt: skip
        self.per_subgroup = np.array([basis[a] == "subgroup" for a in self.aids])[self.codes]
        self.unprinted = np.isnan(self.pub[:, 3]) & ~np.isnan(self.pub[:, 0])  # RevMan printed no weight

    def _flag(self, bad: np.ndarray) -> None:
        self.irregular |= {self.aids[c] for c in np.unique(self.codes[bad])}

    def effects(self, measure: str, peto: bool):
        """(yi, vi, Peto V or None) per row, NaN where the row does not enter; analyses whose rows the engine
        refuses are flagged irregular."""
        rows = self.rows
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if peto:
                    # arm values were checked by the measures before (an analysis refusing them is irregular)
                    yi, vi, _, v = peto_effects(*(rows[col].to_numpy(dtype=float) for col in NEEDED["dichotomous"]))
                    return np.where(v > 0, yi, np.nan), np.where(v > 0, vi, np.nan), v
                es = effect_sizes(rows, measure, study="study")
        except ValueError:  # some analysis holds a row the engine refuses: each analysis on its own
            yi, vi = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
            for code, aid in enumerate(self.aids):
                at = self.codes == code
                yi[at], vi[at] = self._effects_one(aid, measure)
            return yi, vi, None
        out = es["excluded_reason"].isna().to_numpy()
        vi = es["vi"].to_numpy(dtype=float)
        self._flag(out & ~(np.isfinite(vi) & (vi > 0)))  # the pooling would refuse such a row
        return np.where(out, es["yi"], np.nan), np.where(out, vi, np.nan), None

    def _effects_one(self, aid, measure):
        part = self.rows[self.rows["analysis_id"] == aid]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                es = effect_sizes(part, measure, study="study")
            out = es["excluded_reason"].isna().to_numpy()
            vi = es["vi"].to_numpy(dtype=float)
            if (out & ~(np.isfinite(vi) & (vi > 0))).any():
                self.irregular.add(aid)
            return np.where(out, es["yi"], np.nan), np.where(out, vi, np.nan)
        except ValueError:
            self.irregular.add(aid)
            return np.full(len(part), np.nan), np.full(len(part), np.nan)

    def study_cis(self, yi, vi, measure, level):
        half = stats.norm.ppf((1 + level) / 2) * np.sqrt(vi)
        return np.column_stack([display_scale(yi - half, measure), display_scale(yi + half, measure)])

    def weights(self, yi, vi, peto_v, setting) -> np.ndarray:
        """Printed-form weights (percent) per row under ``setting``; NaN where the row enters no pooling."""
        measure, method, model = setting
        entered = ~np.isnan(yi)
        overall = np.where(entered & self.in_overall, self.codes, -1)
        sub = np.where(entered & self.in_subgroup, self.sub_codes, -1)
        entered_any = np.bincount(self.codes, entered, self.n) > 0
        empty = entered_any & (np.bincount(self.codes, overall >= 0, self.n) == 0)
        self._flag(empty[self.codes])
        out = np.full(len(yi), np.nan)
        for group, n, use in ((overall, self.n, ~self.per_subgroup), (sub, self.n_sub, self.per_subgroup)):
            if method == "Peto":
                w = peto_v
            elif method == "IV":
                w = 1.0 / vi if model == "fixed" else _random(yi, vi, group, n)
            else:
                a, n1, c, n2 = (self.rows[col].to_numpy(dtype=float) for col in NEEDED["dichotomous"])
                raw = measure == "RD" and REVMAN.raw_zero_cell_estimate
                corrected = REVMAN.mh_correction and not raw
                cells = corrected_cells(a, n1, c, n2, REVMAN.cc_add) if corrected else (a, n1 - a, c, n2 - c)
                with np.errstate(divide="ignore", invalid="ignore"):
                    w = _mh(cells, measure, group, n, model, yi, vi)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = _share(np.where(group >= 0, w, 0.0), group, n)
            out = np.where(use & (group >= 0), share, out)
        out[self.unprinted] = np.nan
        pooled = np.where(self.per_subgroup, self.in_subgroup, self.in_overall)
        self._flag(entered & pooled & ~np.isfinite(out) & ~self.unprinted)
        return out


def batch_fits(rows: pd.DataFrame, data_type: str, precision: str) -> tuple[dict, set]:
    """``({analysis_id: {setting: fit}}, irregular analysis ids)`` for the analyses of one data type in
    ``rows`` (tidy-named, RevMan's values in ``estimate``, ``ci_low``, ``ci_high``, ``weight``); a fit is
    ``{"ok", "estimates_ok", "level", "estimate", "ci", "weight"}`` as :func:`helpers.stats.infer.infer_settings`
    reads it. An analysis without any published estimate gets ``{}``."""
    review = _Review(only_needed(rows, data_type), precision)
    codes, n = review.codes, review.n
    out = {aid: {} for aid in review.aids}
    has_estimate = np.bincount(codes, ~np.isnan(review.pub[:, 0]), n) > 0
    family_first: dict = {}
    effects: dict = {}
    for setting in CANDIDATES[data_type]:
        family = (setting[0], setting[1] == "Peto")
        if family not in effects:
            yi, vi, v = review.effects(*family)
            est = np.column_stack([display_scale(yi, setting[0])])
            ok_e, d_e, _ = judge(review.pub[:, :1], est, review.tol[:, :1], codes, n)
            by_level = []
            for level in LEVELS:
                ci = review.study_cis(yi, vi, setting[0], level)
                by_level.append(judge(review.pub[:, 1:3], ci, review.tol[:, 1:3], codes, n)[:2])
            effects[family] = (yi, vi, v, ok_e, d_e, by_level)
        yi, vi, v, ok_e, d_e, by_level = effects[family]
        ok_w, d_w, off_w = judge(review.pub[:, 3:], review.weights(yi, vi, v, setting)[:, None], review.tol[:, 3:],
                          codes, n)
        first = family_first.setdefault(family, setting) == setting
        for i, aid in enumerate(review.aids):
            if not has_estimate[i]:
                continue
            level = 0
            if ok_e[i] and not by_level[0][0][i]:
                level = next((j for j in (1, 2) if by_level[j][0][i]), 0)
            estimates_ok = bool(ok_e[i] and by_level[level][0][i])
            fit = {"ok": estimates_ok and bool(ok_w[i]), "estimates_ok": estimates_ok, "level": LEVELS[level],
                   "estimate": float(d_e[i]), "ci": float(by_level[level][1][i]), "weight": float(d_w[i]),
                   "weights_off": int(off_w[i])}
            if not first and not estimates_ok:
                fit.update(weight=np.inf, ok=False)
            out[aid][setting] = fit
    return out, review.irregular
