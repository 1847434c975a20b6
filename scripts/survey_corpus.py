"""Load every .rda in a folder with load_dataset and tabulate the refusals by kind (development aid)."""
import re, sys, time, warnings, collections
from pathlib import Path
from helpers.data.dataset import load_dataset
from helpers.core.errors import NmdaError

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/pairwise70/data")
files = sorted(folder.glob("*.rda"))
if len(sys.argv) > 2:
    files = files[: int(sys.argv[2])]
kinds = collections.Counter(); examples = {}
ok = 0; t0 = time.time(); crashes = []
for f in files:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_dataset(f)
        ok += 1
    except NmdaError as e:
        msg = str(e).splitlines()[0] if str(e).count("\n") == 0 else str(e).replace("\n", " | ")[:300]
        kind = re.sub(r"[0-9.]+", "N", re.sub(r"'[^']*'", "'X'", msg.split(": ", 3)[-1]))[:110]
        kinds[kind] += 1; examples.setdefault(kind, msg[:400])
    except Exception as e:
        crashes.append((f.name, repr(e)[:300]))
print(f"{ok}/{len(files)} loaded in {time.time()-t0:.0f}s; crashes {len(crashes)}")
for k, n in kinds.most_common():
    print(f"{n:4d} {k}\n      e.g. {examples[k]}")
for c in crashes[:20]:
    print("CRASH", c)
