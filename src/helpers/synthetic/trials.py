"""The synthetic trials: one per trial slot of the real review's shape, plus trials with no data rows.

The real review includes 67 RCTs with 2,309 participants; 28 contribute data rows (the shape's slots). The
other 39 appear only in the study information, risk of bias and references, as in the review. Their drugs
follow the review's counts (39 ketamine, 10 memantine, 9 dextromethorphan, 3 amantadine, 8 magnesium = 69
for 67 trials: Martin 2019 counts under memantine and dextromethorphan; the second double count is not
identified, so the synthetic set takes it from magnesium: 7 magnesium trials). A slot's drug, route and
comparator are those of the first comparison group it enters (``comparisons`` of the review map), its
condition, duration and dose the subgroup it sits in where the review has such a subgroup analysis, else drawn.
Everything else (year, size, design, risk of bias) is drawn from the seeded generator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from helpers.data.datarows import ROB2_DOMAINS
from helpers.synthetic.shape import ReviewShape

DRUG_CODES = {"ketamine": "K", "memantine": "M", "dextromethorphan": "D", "amantadine": "A", "magnesium": "Mg"}
ROUTE_CODES = {"intravenous": "IV", "oral": "PO", "topical": "TOP", "intramuscular": "IM", "other": "IN",
               "unknown": "UNK"}  # fmt: skip
NO_DATA_TRIALS = {"ketamine": 27, "memantine": 3, "dextromethorphan": 6, "amantadine": 2, "magnesium": 1}
NO_DATA_ROUTES = {  # route -> probability, for trials without data rows
    "ketamine": {"intravenous": 0.55, "oral": 0.15, "topical": 0.1, "other": 0.2},
    "memantine": {"oral": 1.0},
    "dextromethorphan": {"oral": 1.0},
    "amantadine": {"intravenous": 0.5, "oral": 0.5},
    "magnesium": {"intravenous": 1.0},
}
NO_DATA_ACTIVE = 2  # of the trials without data rows, this many have an active comparator (the review: 62 of 67
# trials placebo-controlled)
CONDITIONS = ("Peripheral neuropathic pain", "Complex regional pain syndrome", "Fibromyalgia", "Cancer pain",
              "Phantom limb pain", "Chronic postsurgical pain", "Mixed chronic pain")  # fmt: skip
DIMENSIONS = {"clinical condition": "condition", "duration of administration": "duration",
              "medicine dose": "dose"}  # fmt: skip
CROSSOVER_P = 0.3
ROB_DOMAINS = ROB2_DOMAINS  # the RoB 2 domain names as the Cochrane files spell them (one list, in data.datarows)
ROB_LEVELS = ("Low", "Some concerns", "High")
ROB_P = (0.6, 0.3, 0.1)  # per domain; overall = worst, so ~22% Low, ~50% Some concerns, ~27% High


@dataclass(frozen=True)
class Trial:
    """One synthetic trial. ``slot`` is its trial slot in the shape (None: no data rows)."""

    label: str
    year: int
    slot: str | None
    drug: str
    route: str
    comparator: str
    comparator_detail: str
    design: str
    condition: str
    duration: str
    dose: str
    n: int
    rob: tuple

    @property
    def arms(self) -> tuple[int, int]:
        """(experimental N, control N): 1:1 parallel groups; a crossover trial's first period, split 1:1."""
        return (self.n + 1) // 2, self.n // 2


def _slot_attributes(shape: ReviewShape, slot: str) -> dict:
    first = next(a for a in shape.analyses if any(s == slot for _, s in a.rows))
    out = {"drug": first.drug, "route": first.route, "comparator": first.comparator,
           "comparator_detail": first.comparison.split(" versus ", 1)[-1]}  # fmt: skip
    for a in shape.analyses:
        dim = DIMENSIONS.get(a.subgroup_by or "")
        for sg, s in a.rows:
            if dim and s == slot:
                out.setdefault(dim, sg)
    return out


def draw_trials(rng: np.random.Generator, shape: ReviewShape) -> list[Trial]:
    """Draw the trials (slots first, in shape order, then the trials without data), scale N to the total."""
    specs = [_slot_attributes(shape, slot) | {"slot": slot} for slot in shape.slots]
    missing = shape.trials - len(specs)
    if sum(NO_DATA_TRIALS.values()) != missing:
        raise ValueError(f"{shape.path}: shape has {len(specs)} trials with data of {shape.trials}; "
                         f"NO_DATA_TRIALS gives {sum(NO_DATA_TRIALS.values())}, not {missing}")  # fmt: skip
    no_data = [drug for drug, count in NO_DATA_TRIALS.items() for _ in range(count)]
    active = set(rng.choice(len(no_data), size=NO_DATA_ACTIVE, replace=False).tolist())
    for i, drug in enumerate(no_data):
        routes = NO_DATA_ROUTES[drug]
        route = str(rng.choice(list(routes), p=list(routes.values())))
        comparator = "active" if i in active else "placebo"
        specs.append({"slot": None, "drug": drug, "route": route, "comparator": comparator,
                      "comparator_detail": "active comparator" if i in active else "placebo"})  # fmt: skip
    raw = []
    for spec in specs:
        design = "crossover" if rng.random() < CROSSOVER_P else "parallel"
        size = float(rng.lognormal(math.log(34.0), 0.5))
        rob = tuple(int(x) for x in rng.choice(3, size=5, p=ROB_P))
        raw.append({
            **spec, "year": int(rng.integers(1980, 2024)), "design": design, "size": size,
            "condition": spec.get("condition") or str(rng.choice(CONDITIONS)),
            "duration": spec.get("duration", "not a subgroup"), "dose": spec.get("dose", "not a subgroup"),
            "rob": rob + (max(rob),),  # RoB 2: overall is the worst domain judgement
        })  # fmt: skip
    sizes = scale_to_total(np.array([r["size"] for r in raw]), shape.participants, minimum=10)
    order = sorted(range(len(raw)), key=lambda i: (raw[i]["drug"], raw[i]["route"], raw[i]["year"], i))
    counters: dict[tuple[str, str], int] = {}
    trials = [None] * len(raw)
    for i in order:
        r = raw[i]
        key = (r["drug"], r["route"])
        counters[key] = counters.get(key, 0) + 1
        label = f"SYN-{DRUG_CODES[r['drug']]}-{ROUTE_CODES[r['route']]}-{counters[key]:02d} {r['year']}"
        trials[i] = Trial(label, r["year"], r["slot"], r["drug"], r["route"], r["comparator"],
                          r["comparator_detail"], r["design"], r["condition"], r["duration"], r["dose"],
                          int(sizes[i]), r["rob"])  # fmt: skip
    return trials


def scale_to_total(sizes: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Integers proportional to ``sizes``, each >= ``minimum``, summing to ``total`` (largest remainder).

    ``floor(size * total / sum)`` (at least ``minimum``), then one is added to (or taken from) the trials with
    the largest (smallest) fractional parts, ties broken by position, until the sum is exact.
    """
    exact = sizes * total / sizes.sum()
    out = np.maximum(np.floor(exact).astype(int), minimum)
    frac = exact - np.floor(exact)
    up = np.argsort(-frac, kind="stable")
    down = np.argsort(frac, kind="stable")
    j = 0
    while out.sum() != total:
        if out.sum() < total:
            out[up[j % len(out)]] += 1
        elif out[down[j % len(out)]] > minimum:
            out[down[j % len(out)]] -= 1
        j += 1
    return out
