"""The tidy schema of the data layer: rows table, studies table, the data dictionary and validation.

The rows table has one row per study x analysis x subgroup; the studies table one row per study. Both are
described once, in ``DATA_DICTIONARY`` (column -> type, allowed values, meaning); the pandera schemas and
the data dictionary in ``data/README.md`` (``render_dictionary()``) are built from it, so they cannot drift.

``validate_rows`` / ``validate_studies`` collect every problem at once (pandera ``lazy=True`` plus the
domain checks below) and raise one :class:`ValidationError` listing each as ``file: row: column: problem``.
The row is the DataFrame index: the CSV line number when the table was read from a file.

Domain checks (Cochrane Handbook v6.4, chapter 6): n > 0; 0 <= events <= n; SD > 0; GIV SE > 0; the fields
a data type needs are present (dichotomous: events and n per arm; continuous: mean, SD and n per arm; giv:
estimate and SE); the effect measure fits the data type (dichotomous: RR, OR, RD; continuous: MD, SMD);
``MH`` needs dichotomous data and ``Peto`` needs OR. Every numeric value is finite; counts (events, n,
n_randomised) are whole numbers and n is at most ``MAX_N``; analysis group and number are whole numbers >= 1;
no row of the rows table equals another in every field (the same participants would be counted twice).
Each problem names the study of its row, so a reader need not open the CSV to find the trial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from helpers.core.checks import MEASURES, METHODS, MODELS
from helpers.core.errors import DataError

UNKNOWN = "unknown"  # a review map's explicit "no source found" (warned about), unlike an unmapped NaN
DRUGS = ("ketamine", "memantine", "dextromethorphan", "amantadine", "magnesium")
ROUTES = ("intravenous", "oral", "topical", "intramuscular", "other", UNKNOWN)
COMPARATORS = ("placebo", "usual_care", "active", UNKNOWN)
# outcome -> label; the order is the display order (benefits, then harms, then the other outcomes)
OUTCOME_LABELS = {
    "pain_intensity": "pain intensity",
    "responders_30": "pain reduction >= 30% (responders)",
    "responders_50": "pain reduction >= 50% (responders)",
    "any_adverse_event": "adverse events (total)",
    "serious_adverse_event": "serious adverse events",
    "withdrawal_ae": "withdrawal due to adverse events",
    "tolerability": "tolerability",
    "psychotomimetic": "psychotomimetic effects",
    "hallucinations": "hallucinations",
    "dissociative": "dissociative symptoms",
    "sedation": "sedation",
    "nausea": "nausea",
    "vomiting": "vomiting",
    "dizziness": "dizziness",
    "headache": "headache",
    "other_adverse_events": "other adverse events",
    "disability": "disability",
    "quality_of_life": "health-related quality of life",
    "depressive_symptoms": "depressive symptoms",
}
OUTCOMES = tuple(OUTCOME_LABELS)
PSYCHOTOMIMETIC_FAMILY = ("psychotomimetic", "hallucinations", "dissociative")
HARMS = ("any_adverse_event", "serious_adverse_event", "withdrawal_ae", "tolerability", *PSYCHOTOMIMETIC_FAMILY,
         "sedation", "nausea", "vomiting", "dizziness", "headache", "other_adverse_events")  # fmt: skip
#: Which side of a forest plot favours the drug (RevMan's convention: left of the null line favours the
#: experimental arm when a lower value is better). Pain intensity in the review is a score where lower is
#: better; responders count a benefit. Outcomes in neither (scales of either direction) keep
#: "Favours experimental / Favours control".
LOWER_IS_BETTER = ("pain_intensity", *HARMS)
HIGHER_IS_BETTER = ("responders_30", "responders_50")
TIMEPOINTS = ("immediate", "short", "medium", "long", "any")
# what a subgroup analysis splits by: the review's duration of administration, clinical condition and medicine
# dose (CD015373.pub2), or route (the earlier synthetic package); NaN when the analysis has no subgroups
SUBGROUP_DIMENSIONS = ("duration", "condition", "dose", "route")
DESIGNS = ("parallel", "crossover")
DATA_TYPES = ("dichotomous", "continuous", "giv")
ROB_LEVELS = ("Low", "Some concerns", "High")
APPLICABILITY = ("SUBGROUP_AND_OVERALL", "SUBGROUP_ONLY", "OVERALL_ONLY")
ROB_COLUMNS = ("rob_d1", "rob_d2", "rob_d3", "rob_d4", "rob_d5", "rob_overall")
LIST_SEP = "; "  # studies table: a study with several routes lists them, sorted, joined by this

MEASURES_FOR = {"dichotomous": ("RR", "OR", "RD"), "continuous": ("MD", "SMD"), "giv": MEASURES}
REQUIRED_FOR = {
    "dichotomous": ("events_e", "n_e", "events_c", "n_c"),
    "continuous": ("mean_e", "sd_e", "n_e", "mean_c", "sd_c", "n_c"),
    "giv": ("giv_estimate", "giv_se"),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a tidy table: ``kind`` is ``str``, ``float`` or ``bool``; ``allowed`` None = free."""

    name: str
    kind: str
    meaning: str
    allowed: tuple | None = None
    required: bool = False  # a value must be present in every row
    is_list: bool = False  # several allowed values joined by LIST_SEP


_ARM = "arm; NaN when the row's data type does not use it"
_ROWS = (
    ColumnSpec("analysis_id", "str", 'RevMan analysis number "group.number", e.g. "1.1"', required=True),
    ColumnSpec("analysis_group", "float", "RevMan analysis group (comparison) number", required=True),
    ColumnSpec("analysis_number", "float", "analysis (outcome) number within the group", required=True),
    ColumnSpec("analysis_name", "str", "RevMan analysis name", required=True),
    ColumnSpec("comparison", "str", "analysis group name (the comparison)"),
    ColumnSpec("outcome", "str", "outcome, from the review map (data/reviews/*.yaml)", OUTCOMES),
    ColumnSpec("timepoint", "str", "time point, from the review map; 'any' for harms reported without one",
               TIMEPOINTS),
    ColumnSpec("subgroup", "str", "subgroup name as in the package; empty when the analysis has none"),
    ColumnSpec("subgroup_by", "str", "what the analysis's subgroups split by, from the review map; empty "
               "when the analysis has none", SUBGROUP_DIMENSIONS),
    ColumnSpec("study", "str", "study label (author year)", required=True),
    ColumnSpec("entry", "float", "1 for a study's first row in the analysis, 2 for its second (strata or arms of "
               "one trial entered separately), ..."),
    ColumnSpec("year", "float", "study year"),
    ColumnSpec("year_text", "str", "study year as the package writes it when that is not a plain year "
               "(\"1989 Oct\"); empty otherwise"),
    ColumnSpec("footnotes", "str", "RevMan's footnotes of the data row"),
    ColumnSpec("drug", "str", "NMDA receptor antagonist, from the review map", DRUGS),
    ColumnSpec("route", "str", "route of administration, from the review map ('unknown': no source)",
               ROUTES),
    ColumnSpec("comparator", "str", "control intervention, from the review map ('unknown': no source)",
               COMPARATORS),
    ColumnSpec("condition", "str", "chronic pain condition, from the studies table"),
    ColumnSpec("design", "str", "trial design, from the studies table", DESIGNS),
    ColumnSpec("data_type", "str", "RevMan data type (giv = generic inverse variance)", DATA_TYPES, True),
    ColumnSpec("measure", "str", "effect measure of the analysis; empty when the data carry no settings (bare "
               "data rows: helpers.stats.infer.settle reads it off RevMan's per-study values)", MEASURES),
    ColumnSpec("method", "str", "RevMan statistical method of the analysis; empty as measure", METHODS),
    ColumnSpec("model", "str", "RevMan analysis model; empty as measure", MODELS),
    ColumnSpec("tau2_method", "str", "package heterogeneity estimator: DL, REML or PM when known, else the package's "
               "label (the concordance table notes it); empty = not given (RevMan's default DL)"),
    ColumnSpec("ci_method", "str", "package CI method: z (Wald) or hksj when known, else the package's label; "
               "empty = not given (Wald)"),
    ColumnSpec("ci_level", "float", "package CI/PI level as a fraction (0.95); empty = not given (0.95)"),
    ColumnSpec("prediction_interval", "float", "package asks for a prediction interval: 1 yes, 0 no, empty = not given"),
    ColumnSpec("swap_events", "float", "package 'Swap event and non-event': 1 yes (events = n - events), 0 no, "
               "empty = not given"),
    ColumnSpec("applicability", "str", "RevMan Applicability: the row counts in the subgroup and the overall "
               "pooling, only in its subgroup, or only in the overall; empty = both", APPLICABILITY),
    ColumnSpec("events_e", "float", "events, experimental " + _ARM),
    ColumnSpec("n_e", "float", "participants analysed, experimental arm (kept for giv rows when given)"),
    ColumnSpec("events_c", "float", "events, control " + _ARM),
    ColumnSpec("n_c", "float", "participants analysed, control arm (kept for giv rows when given)"),
    ColumnSpec("mean_e", "float", "mean, experimental " + _ARM),
    ColumnSpec("sd_e", "float", "standard deviation, experimental " + _ARM),
    ColumnSpec("mean_c", "float", "mean, control " + _ARM),
    ColumnSpec("sd_c", "float", "standard deviation, control " + _ARM),
    ColumnSpec("giv_estimate", "float", "generic inverse variance estimate (log scale for ratios); giv rows only"),
    ColumnSpec("giv_se", "float", "standard error of giv_estimate; giv rows only"),
)
_STUDIES = (
    ColumnSpec("study", "str", "study label, unique", required=True),
    ColumnSpec("year", "float", "study year"),
    ColumnSpec("drug", "str", "drug(s) studied, from the rows table", DRUGS, is_list=True),
    ColumnSpec("route", "str", "route(s), from the rows table", ROUTES, is_list=True),
    ColumnSpec("comparator", "str", "comparator(s), from the rows table", COMPARATORS, is_list=True),
    ColumnSpec("condition", "str", "chronic pain condition (study information)"),
    ColumnSpec("design", "str", "trial design (study information)", DESIGNS),
    ColumnSpec("n_randomised", "float", "participants randomised (study information)"),
    ColumnSpec("notes", "str", "free-text notes (study information 'Char: Notes')"),
    ColumnSpec("synthetic", "bool", "True when the package marks the study as synthetic (not evidence)"),
    *(ColumnSpec(c, "str", f"RoB 2 judgement, {'overall' if c == 'rob_overall' else 'domain ' + c[-1]}",
                 ROB_LEVELS) for c in ROB_COLUMNS),
)  # fmt: skip
DATA_DICTIONARY = {"rows": _ROWS, "studies": _STUDIES}
ROWS_COLUMNS = tuple(c.name for c in _ROWS)
STUDIES_COLUMNS = tuple(c.name for c in _STUDIES)


COUNT_COLUMNS = ("events_e", "n_e", "events_c", "n_c", "n_randomised")  # whole numbers
MAX_N = 10_000_000  # participants in one arm or study; larger is a typing error (N = 1e300), not a trial
WHOLE_COLUMNS = ("analysis_group", "analysis_number")  # whole numbers >= 1


class ValidationError(DataError):
    """Tidy data failed validation; ``problems`` lists every ``(row, column, problem)`` found.

    ``studies`` maps a row to its study label; each message line then reads
    ``"<source>: row <r> (study '<label>'): column <c>: <problem>"``.
    """

    def __init__(self, source: str, problems: list[tuple], studies: dict | None = None):
        self.source = source
        self.problems = problems
        self.studies = studies or {}

        def row(r):
            s = self.studies.get(r)
            return f"row {r} (study {s!r})" if isinstance(s, str) and s else f"row {r}"

        lines = [f"{source}: {row(r)}: column {c}: {p}" for r, c, p in problems]
        super().__init__(f"{len(problems)} problem(s) found\n" + "\n".join(lines), file=source)


def _allowed_check(spec: ColumnSpec) -> pa.Check:
    allowed = spec.allowed

    def ok(value) -> bool:
        parts = str(value).split(LIST_SEP) if spec.is_list else [value]
        return all(p in allowed for p in parts)

    return pa.Check(ok, element_wise=True, error=f"must be one of {', '.join(allowed)}", ignore_na=True)


def _schema(specs: tuple[ColumnSpec, ...], unique: list[str] | None = None) -> pa.DataFrameSchema:
    columns = {}
    for spec in specs:
        checks = [_allowed_check(spec)] if spec.allowed else []
        if spec.kind == "str":
            checks.append(pa.Check(lambda v: isinstance(v, str), element_wise=True, error="must be text",
                                   ignore_na=True))  # fmt: skip
            columns[spec.name] = pa.Column(object, checks=checks, nullable=not spec.required, coerce=True)
        elif spec.kind == "bool":
            columns[spec.name] = pa.Column(bool, nullable=False, coerce=True, required=False)
        else:
            columns[spec.name] = pa.Column(float, checks=checks, nullable=not spec.required, coerce=True)
    return pa.DataFrameSchema(columns, strict=False, unique=unique)


ROWS_SCHEMA = _schema(_ROWS)
STUDIES_SCHEMA = _schema(_STUDIES, unique=["study"])


def _pandera_problems(schema: pa.DataFrameSchema, df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple]]:
    try:
        return schema.validate(df, lazy=True), []
    except SchemaErrors as exc:
        problems = []
        for case in exc.failure_cases.itertuples(index=False):
            row = "-" if pd.isna(case.index) else case.index
            check = str(case.check)
            if check == "column_in_dataframe":
                problems.append(("-", case.failure_case, "required column is missing"))
            elif check.startswith("coerce_dtype") or check.startswith("dtype"):
                problems.append((row, case.column, f"{case.failure_case!r} is not of type {check.split('(')[-1][:-1]}"))
            elif check == "not_nullable":
                problems.append((row, case.column, "value is missing"))
            else:
                problems.append((row, case.column, f"{case.failure_case!r}: {check}"))
        return df, problems


def _numeric_problems(df: pd.DataFrame, specs: tuple[ColumnSpec, ...]) -> list[tuple]:
    """Finite values in every numeric column; whole counts up to MAX_N; whole analysis numbers >= 1."""
    problems = []
    for spec in specs:
        if spec.kind != "float" or spec.name not in df:
            continue
        x = pd.to_numeric(df[spec.name], errors="coerce").astype(float)
        for idx in df.index[np.isinf(x)]:
            problems.append((idx, spec.name, f"must be finite; got {x[idx]:g}"))
        finite = np.isfinite(x)
        if spec.name in COUNT_COLUMNS:
            for idx in df.index[finite & (x % 1 != 0)]:
                problems.append((idx, spec.name, f"a count must be a whole number; got {x[idx]:g}"))
            for idx in df.index[finite & (x > MAX_N)]:
                problems.append((idx, spec.name, f"more than MAX_N={MAX_N:,} participants; got {x[idx]:g}"))
        if spec.name in WHOLE_COLUMNS:
            for idx in df.index[finite & ((x % 1 != 0) | (x < 1))]:
                problems.append((idx, spec.name, f"must be a whole number >= 1; got {x[idx]:g}"))
    return problems


def _duplicate_problems(df: pd.DataFrame) -> list[tuple]:
    """Rows equal to an earlier row in every field: the same participants would be counted twice."""
    dup = df.astype(str).duplicated()
    return [(idx, "-", "exact duplicate of an earlier row (every field equal): the same participants would be "
                       "counted twice") for idx in df.index[dup]]  # fmt: skip


def _domain_problems(df: pd.DataFrame) -> list[tuple]:
    problems = []

    def num(col):
        return pd.to_numeric(df[col], errors="coerce") if col in df else pd.Series(np.nan, index=df.index)

    for arm in ("e", "c"):
        n, ev, sd = num(f"n_{arm}"), num(f"events_{arm}"), num(f"sd_{arm}")
        for idx in df.index[n <= 0]:
            problems.append((idx, f"n_{arm}", f"n must be > 0; got {n[idx]:g}"))
        for idx in df.index[ev < 0]:
            problems.append((idx, f"events_{arm}", f"events must be >= 0; got {ev[idx]:g}"))
        for idx in df.index[ev > n]:
            problems.append((idx, f"events_{arm}", f"events ({ev[idx]:g}) exceed n_{arm} ({n[idx]:g})"))
        for idx in df.index[sd <= 0]:
            problems.append((idx, f"sd_{arm}", f"SD must be > 0; got {sd[idx]:g}"))
    se = num("giv_se")
    for idx in df.index[se <= 0]:
        problems.append((idx, "giv_se", f"SE must be > 0; got {se[idx]:g}"))
    if "data_type" in df:
        for dtype, needed in REQUIRED_FOR.items():
            sel = df["data_type"] == dtype
            for col in needed:
                for idx in df.index[sel & num(col).isna()]:
                    problems.append((idx, col, f"required for {dtype} rows but missing"))
            if "measure" in df:
                bad = sel & df["measure"].notna() & ~df["measure"].isin(MEASURES_FOR[dtype])
                for idx in df.index[bad]:
                    problems.append((idx, "measure", f"{df.at[idx, 'measure']!r} does not fit {dtype} data; "
                                                     f"allowed: {', '.join(MEASURES_FOR[dtype])}"))  # fmt: skip
    if "method" in df:
        for idx in df.index[(df["method"] == "MH") & (df.get("data_type") != "dichotomous")]:
            problems.append((idx, "method", "MH needs dichotomous data"))
        for idx in df.index[(df["method"] == "Peto") & (df.get("measure") != "OR")]:
            problems.append((idx, "method", "Peto needs measure OR"))
    return problems


def _validate(schema, df, source, domain) -> pd.DataFrame:
    out, problems = _pandera_problems(schema, df)
    problems += _numeric_problems(df, _ROWS if domain else _STUDIES)
    if domain:
        problems += _domain_problems(df) + _duplicate_problems(df)
    if problems:
        order = {"-": -1}
        problems.sort(key=lambda p: (order.get(p[0], 0), str(p[0]).zfill(12), str(p[1])))
        studies = df["study"].to_dict() if "study" in df and df.index.is_unique else None
        raise ValidationError(str(source), problems, studies)
    return out


def validate_rows(df: pd.DataFrame, source: str = "<rows>") -> pd.DataFrame:
    """Validate a tidy rows table; return it (numeric columns as float) or raise ValidationError listing all."""
    return _validate(ROWS_SCHEMA, df, source, domain=True)


def validate_studies(df: pd.DataFrame, source: str = "<studies>") -> pd.DataFrame:
    """Validate a tidy studies table; return it or raise ValidationError listing every problem."""
    return _validate(STUDIES_SCHEMA, df, source, domain=False)


def render_dictionary() -> str:
    """The data dictionary as Markdown tables (this is what data/README.md shows)."""
    out = []
    for table, specs in DATA_DICTIONARY.items():
        out += [f"### `{table}.csv`", "", "| column | type | required | allowed values | meaning |", "|---|---|---|---|---|"]
        for s in specs:
            allowed = ", ".join(f"`{a}`" for a in s.allowed) if s.allowed else ""
            if s.is_list and allowed:
                allowed += f" (several joined by `{LIST_SEP.strip()} `)"
            out.append(f"| `{s.name}` | {s.kind} | {'yes' if s.required else ''} | {allowed} | {s.meaning} |")
        out.append("")
    return "\n".join(out)
