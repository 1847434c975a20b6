"""Load, settle and check every .rda of a folder against RevMan's per-study values (development aid)."""
import collections, re, sys, time, warnings
from pathlib import Path
from helpers.core.errors import NmdaError
from helpers.data.dataset import load_dataset
from helpers.stats.concordance import concordance
from helpers.stats.infer import settle

files = sorted(Path(sys.argv[1]).glob("*.rda"))[int(sys.argv[2]) if len(sys.argv) > 2 else 0:][: int(sys.argv[3]) if len(sys.argv) > 3 else None]
tot = collections.Counter(); per = []
t0 = time.time()
for f in files:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = settle(load_dataset(f))
            c = concordance(ds)
    except NmdaError as e:
        print("REFUSED", f.name, str(e).replace("\n", " | ")[:300]); tot["refused"] += 1; continue
    except Exception as e:
        print("CRASH", f.name, repr(e)[:300]); tot["crash"] += 1; continue
    st = c[c["level"] == "study"]
    counts = st["status"].value_counts().to_dict()
    ev = ds.settings_evidence
    flagged = ev[ev["status"] == "not reproduced"]["analysis_id"].tolist() if ev is not None else []
    for k, v in counts.items(): tot[k] += v
    tot["loaded"] += 1
    bad = st[st["status"].isin(["mismatch", "not recomputed"])]
    if len(bad):
        print("MISMATCH", f.name, counts, "flagged:", flagged[:8], bad[["analysis_id", "quantity", "published", "recomputed"]].head(3).values.tolist())
ok, mm = tot["ok"], tot["mismatch"] + tot["not recomputed"]
print(dict(tot), f"reproduced {ok}/{ok+mm} = {ok/(ok+mm):.4%}", f"{time.time()-t0:.0f}s")
