"""Write the URDFs of the arms described without one (UR5e, xArm 6) from their kinematic models.

    python scripts/make_arm_urdf.py          # writes robots/urdf/<arm>.urdf
    python scripts/make_arm_urdf.py --check  # exit 1 if a shipped file differs from what it would write

Link masses: the UR5e's from Universal Robots' published dynamics parameters (base from
ur_description); the xArm 6's from pybullet_data's xarm/xarm6_robot.urdf. Radii are simple
shapes of about the real links' size. See robots/urdf_from_dh.py for the construction.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from robots.description import load_description
from robots.urdf_from_dh import write_urdf

ROOT = Path(__file__).resolve().parent.parent
ARMS = {
    # name: (masses: base + links, kg; radii: base + links, m; the vendor's flange frame)
    "ur5e": ([4.0, 3.761, 8.058, 2.846, 1.37, 1.3, 0.365], [0.075, 0.06, 0.055, 0.045, 0.04, 0.04, 0.035], "tool0"),
    "xarm6": ([2.7, 2.16, 1.71, 1.384, 1.115, 1.275, 0.1096], [0.06, 0.05, 0.045, 0.04, 0.04, 0.04, 0.035], "link_eef"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the shipped files instead of writing")
    args = parser.parse_args()
    stale = []
    for name, (masses, radii, flange) in ARMS.items():
        description = load_description(name)
        text = write_urdf(description, masses, radii, flange)
        path = ROOT / "robots" / "urdf" / f"{name}.urdf"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
            print(path)
    if stale:
        print("out of date (run scripts/make_arm_urdf.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
