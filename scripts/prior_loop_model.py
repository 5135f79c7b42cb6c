"""A 1-D model of a prior's position loop under delay: why ``gain`` 0.5 and ``lead`` 0.5.

    python scripts/prior_loop_model.py                      # the shipped settings and the clean ones
    python scripts/prior_loop_model.py --gain 0.5 --lead 1  # another pair

The hand is an integrator that executes the command sent ``delay`` periods ago (0-3),
through a first-order lag (none, or 60 ms at 25 Hz), and is seen ``observation delay``
periods late (0-1). The prior commands ``gain`` times the error between the target and the
seen hand plus ``lead`` times the motion of its last ``history`` commands, at most one unit
action (5 cm) per period. For a 20 cm move it prints, for every combination, the periods
until the hand stays within 5 mm (``--steps`` if never) and the overshoot.
"""

from __future__ import annotations

import argparse
import math

STEP = 0.05  # m per unit action
PERIOD = 0.04  # s


def settle(
    gain: float, lead: float, history: int, delay: int, seen_late: int, lag: float, steps: int
) -> tuple[int, float]:
    """(periods until within 5 mm for good, overshoot in m) of a 0.2 m move."""
    goal = 0.2
    alpha = 1.0 if lag <= 0 else 1.0 - math.exp(-PERIOD / lag)
    x, motion = 0.0, 0.0
    sent, xs = [0.0] * 16, [0.0] * 16
    path = []
    for _ in range(steps):
        seen = xs[-1 - seen_late]
        in_flight = lead * sum(sent[-history:]) if history else 0.0
        u = max(-STEP, min(STEP, gain * (goal - seen - in_flight)))
        sent.append(u)
        motion += alpha * (sent[-1 - delay] - motion)
        x += motion
        xs.append(x)
        path.append(x)
    err = [abs(p - goal) for p in path]
    done = next((t for t in range(steps) if max(err[t:]) < 0.005), steps)
    return done, max(0.0, max(path) - goal)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gain", type=float, nargs="*", default=[0.5, 1.0])
    parser.add_argument("--lead", type=float, nargs="*", default=[0.5, 0.0])
    parser.add_argument("--history", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    if len(args.gain) != len(args.lead):
        parser.error("give as many --gain as --lead values")
    print("| gain | lead | delay | observation delay | lag | periods to within 5 mm | overshoot |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for gain, lead in zip(args.gain, args.lead, strict=True):
        history = args.history if lead else 0
        for delay in range(4):
            for late in (0, 1):
                for lag in (0.0, 0.06):
                    t, over = settle(gain, lead, history, delay, late, lag, args.steps)
                    shown = f"{t}" if t < args.steps else f"never ({args.steps})"
                    print(
                        f"| {gain} | {lead} | {delay} | {late} | {lag * 1000:.0f} ms | {shown} | {over * 100:.1f} cm |"
                    )


if __name__ == "__main__":
    main()
