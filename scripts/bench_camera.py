"""The cell camera's images over DDS on loopback: frames per second delivered, and their age.

    python scripts/bench_camera.py                      # 320x240 and 640x480, 8 s each, ~30 s

A publisher process sends realsense2_camera's topics (rgb8 colour, aligned depth as 16UC1
mm or 32FC1 m, camera_info, the pose on /tf_static) as fast as it can, or at ``--rate``;
this process receives them with the subscriber `embodied deploy` uses, which pairs colour
and depth by stamp. Reported per resolution and depth encoding: frames/s published, paired
frames/s delivered, and the age of each delivered pair (stamp to the moment the subscriber
has both images decoded), p50 / p95 / max. The images are synthetic (noise), so the
publisher's rendering costs nothing and the numbers are the transport's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from robots.ros2.discovery import keep_on_loopback  # noqa: E402

keep_on_loopback()  # this process and the publisher it starts


def _topics(encoding: str):  # noqa: ANN202
    from dataclasses import replace

    from robots.ros2.camera import CameraTopics

    return replace(CameraTopics(), depth_encoding=encoding)


def publish(domain: int, width: int, height: int, encoding: str, rate: float, seconds: float, out) -> None:  # noqa: ANN001
    from robots.ros2.camera import CameraPublisher
    from robots.ros2.dds import Node

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    depth = rng.uniform(0.3, 1.5, (height, width)).astype(np.float32)
    k = np.array([[width, 0, width / 2], [0, width, height / 2], [0, 0, 1.0]])
    publisher = CameraPublisher(Node(domain), _topics(encoding), np.eye(4))
    time.sleep(1.5)  # discovery
    start = time.time()
    sent = 0
    while time.time() - start < seconds:
        publisher.publish(rgb, depth, k, time.time())
        sent += 1
        if rate > 0:
            time.sleep(max(0.0, start + sent / rate - time.time()))
    out.put(sent / (time.time() - start))


def measure(domain: int, width: int, height: int, encoding: str, rate: float, seconds: float) -> dict:
    from robots.ros2.camera import CameraSubscriber
    from robots.ros2.dds import Node

    subscriber = CameraSubscriber(Node(domain), _topics(encoding))
    context = mp.get_context("spawn")
    out = context.Queue()
    proc = context.Process(target=publish, args=(domain, width, height, encoding, rate, seconds, out))
    proc.start()
    ages, last, first_at = [], 0.0, None
    deadline = time.time() + seconds + 20
    while time.time() < deadline and proc.is_alive():
        frames = subscriber.frames_since(last)
        now = time.time()
        for f in frames:
            ages.append(now - f.stamp)
            first_at = first_at or now
        if frames:
            last = frames[-1].stamp
        time.sleep(0.001)
    published = out.get(timeout=30)
    proc.join(timeout=10)
    span = (time.time() - first_at) if first_at else 1.0
    ms = 1000 * np.asarray(ages or [np.nan])
    return {
        "resolution": f"{width}x{height}",
        "depth_encoding": encoding,
        "published_fps": round(published, 1),
        "delivered_fps": round(len(ages) / min(span, seconds), 1),
        "age_ms_p50": round(float(np.percentile(ms, 50)), 1),
        "age_ms_p95": round(float(np.percentile(ms, 95)), 1),
        "age_ms_max": round(float(np.max(ms)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate", type=float, default=0.0, help="publish rate, Hz (0: as fast as possible)")
    parser.add_argument("--domain", type=int, default=190)
    parser.add_argument("--out", default="runs/bench/camera.json")
    args = parser.parse_args()
    rows = []
    for width, height in ((320, 240), (640, 480)):
        for encoding in ("16UC1", "32FC1"):
            row = measure(args.domain, width, height, encoding, args.rate, args.seconds)
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rate": args.rate, "seconds": args.seconds, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
