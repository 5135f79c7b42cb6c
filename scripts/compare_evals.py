"""Two `embodied eval` results on the same runs, compared run by run.

    python scripts/compare_evals.py BEFORE/eval.json AFTER/eval.json

Both must come from the same suite and seeds (each run is one instruction on one seed's
scene and draw; a run's outcome depends only on the code, its seed and its index). Prints,
overall and per family, the two execution success rates, how many runs only the first lost
("fixed") and only the second lost ("broke"), and the paired difference AFTER - BEFORE with
its 95 % interval (normal approximation over the per-run differences). Exit status 2 when
the files do not describe the same runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def _load(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"{path}: not a readable eval.json ({exc})", file=sys.stderr)
        raise SystemExit(2) from None


def paired(before: set, after: set, n: int) -> tuple[int, int, float, float]:
    """(fixed, broke, difference, half-width of its 95 % interval), the difference in success
    (after - before) as a share of ``n`` runs; ``before``/``after``: the runs each lost."""
    fixed, broke = len(before - after), len(after - before)
    d = (fixed - broke) / n
    var = (fixed + broke) / n - d * d  # the per-run differences' variance (each -1, 0 or +1)
    return fixed, broke, d, 1.96 * math.sqrt(max(var, 0.0) / n)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    args = parser.parse_args()
    a, b = _load(args.before), _load(args.after)
    for key in ("suite", "seeds", "runs"):
        if a.get(key) != b.get(key):
            print(
                f"{key} differs: {a.get(key)!r} vs {b.get(key)!r}; compare evaluations of the same runs",
                file=sys.stderr,
            )
            return 2
    lost_a = {(f["seed"], f["index"]): f.get("family", "other") for f in a["failures"] if "index" in f}
    lost_b = {(f["seed"], f["index"]): f.get("family", "other") for f in b["failures"] if "index" in f}
    rows = [("all", int(a["runs"]), set(lost_a), set(lost_b))]
    for family, cell in sorted(a["by_family"].items()):
        rows.append(
            (
                family,
                int(cell["runs"]),
                {k for k, f in lost_a.items() if f == family},
                {k for k, f in lost_b.items() if f == family},
            )
        )
    print("| runs | n | before | after | fixed | broke | after - before (95 % interval) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, la, lb in rows:
        fixed, broke, d, h = paired(la, lb, n)
        print(
            f"| {name} | {n} | {100 * (1 - len(la) / n):.1f} % | {100 * (1 - len(lb) / n):.1f} % | {fixed} | {broke} "
            f"| {100 * d:+.1f} pp [{100 * (d - h):+.1f}, {100 * (d + h):+.1f}] |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
