"""Copy the best seed of each trained skill into the package, with its model card.

After `bash scripts/train_shipped.sh`: for each skill, the seed with the highest final
held-out success (ties: the fewest steps per episode, then the lowest seed) is shipped as
embodied/assets/skills/<skill>.zip. The
shipped file is that run's last.zip, the policy at the end of training (not an earlier
"best" checkpoint, which could be the untrained prior), with <skill>.json and <skill>.md
describing it and listing every seed's result.
    python scripts/ship_skills.py [skill ...]
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from embodied.learning.catalogue import SKILLS_DIR
from embodied.learning.training import write_card

RUNS = Path("runs/shipped")


def ship(skill: str) -> None:
    cards = []
    for card_path in sorted(RUNS.glob(f"{skill}-seed*/card.json")):
        cards.append((json.loads(card_path.read_text()), card_path.parent))
    if not cards:
        raise SystemExit(f"no finished runs for {skill} under {RUNS}; run scripts/train_shipped.sh first")
    # Ties on success go to the seed that finished its episodes soonest (the sparse reward's
    # objective: -1 per step), then to the lowest seed.
    best, run_dir = max(
        cards, key=lambda c: (c[0]["success_rate"], -c[0]["history"][-1].get("mean_length", 0), -c[0]["seed"])
    )
    SKILLS_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "last.zip", SKILLS_DIR / f"{skill}.zip")
    best = dict(best)
    best["command"] = f"bash scripts/train_shipped.sh {skill}  (this run: {best['command']})"
    best["all_seeds"] = {c["seed"]: c["success_rate"] for c, _ in cards}  # final evaluation of each seed
    tmp = SKILLS_DIR / f".{skill}"
    tmp.mkdir(exist_ok=True)
    write_card(tmp, best)
    shutil.move(tmp / "card.json", SKILLS_DIR / f"{skill}.json")
    text = (tmp / "model_card.md").read_text()
    seeds = ", ".join(f"seed {s}: {v:.0%}" for s, v in best["all_seeds"].items())
    text += (
        f"\nShipped: seed {best['seed']}, the policy at the end of training ({best['steps']} steps, "
        f"{best['success_rate']:.0%}). All training seeds at the end of training: {seeds}.\n"
    )
    (SKILLS_DIR / f"{skill}.md").write_text(text)
    shutil.rmtree(tmp)
    shipped = f"seed {best['seed']} @ {best['steps']} steps ({best['success_rate']:.0%})"
    print(f"{skill}: shipped {shipped}; final {best['all_seeds']}")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["reach", "push", "pick_place"]:
        ship(name)
