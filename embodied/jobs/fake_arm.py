"""Start a stand-in cell: a PyBullet arm behind a ROS 2 driver interface (publishes
/joint_states, executes /joint_trajectory_controller/joint_trajectory like ros2_control's
joint trajectory controller: validation rules, command timeout), with simulated cubes
(seed=N) seen by an RGB-D camera that publishes realsense2_camera's topics; randomize=true draws
its physics, jitter, action noise and observation delay as `embodied run randomize=true` does
for the same seed. Runs until Ctrl-C, or duration=S;
then prints its statistics as JSON. DDS stays on loopback unless dds.discovery_range /
dds.interface say otherwise.

Example: embodied fake-arm robot=panda domain=7
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from dataclasses import asdict
from pathlib import Path

CONFIG = "fake_arm"
ACTUATION_DRAW = ("delay", "jitter", "lag", "action_noise", "observation_delay")
"""Parts of a randomisation draw that are the actuation channel, left out of ``physics``: the
channel the cell ran with is reported under ``actuation`` (the draw's jitter, action noise and
observation delay unless given, ``actuation_delay`` as its delay, ``lag=`` only when given)."""


def camera_topics(cfg):  # noqa: ANN001, ANN201 (robots.ros2.camera.CameraTopics | None)
    """The cell camera's topics from ``cfg.cell_camera`` (None when disabled)."""
    from robots.ros2.camera import CameraTopics

    c = cfg.cell_camera
    if not c.enabled:
        return None
    return CameraTopics(
        str(c.colour),
        str(c.depth),
        str(c.info),
        str(c.tf_static),
        str(c.world_frame),
        str(c.optical_frame),
        str(c.depth_encoding),
    )


OPTIONS = (
    "robot",
    "seed",
    "hide",
    "actuation_delay",
    "jitter",
    "lag",
    "action_noise",
    "observation_delay",
    "randomize",
    "rate",
    "command_timeout",
    "duration",
    "cell_camera.enabled",
    "dds.domain",
    "stats",
)


def main(args: argparse.Namespace) -> int:
    """``embodied fake-arm``: exit 0 when stopped (Ctrl-C, SIGTERM or ``duration``)."""
    from embodied.common.config_loader import ConfigError, dds_settings, load_config
    from embodied.jobs.arguments import dds_shorthand
    from embodied.jobs.terminal import console, print_config

    overrides = dds_shorthand(list(args.tokens))
    if args.cfg:
        return print_config(CONFIG, overrides)
    cfg = load_config(CONFIG, overrides)
    discovery = dds_settings(cfg)

    from embodied.common.config_loader import section
    from sims.fake_arm import FakeArm

    try:
        arm = FakeArm(
            cfg.robot.description,
            rate=cfg.rate,
            command_timeout=float(cfg.command_timeout),
            discovery=discovery,
            max_writers=int(cfg.max_writers),
            estop_topic=str(cfg.dds.estop_topic),
            seed=int(cfg.seed),
            scene=section(cfg, "scene"),
            camera=section(cfg, "camera"),
            camera_topics=camera_topics(cfg),
            hide=list(cfg.hide),
            actuation_delay=float(cfg.actuation_delay),
            randomization=section(cfg, "randomization") if cfg.randomize else None,
            jitter=cfg.jitter,
            lag=cfg.lag,
            action_noise=cfg.action_noise,
            observation_delay=cfg.observation_delay,
        )
    except (ValueError, FileNotFoundError) as exc:
        raise ConfigError(str(exc)) from exc
    spec = arm.description.ros2
    console.print(
        f"fake {arm.description.name}: publishing {spec.joint_states_topic} at "
        f"{arm.rate:.0f} Hz, executing {spec.command_topic}; Ctrl-C to stop\n[dim]{discovery.describe()}[/dim]"
    )
    if arm.camera is not None:
        t = arm.camera_topics
        console.print(
            f"camera: {t.colour}, {t.depth} ({t.depth_encoding}), {t.info} at {arm.world.camera.config.rate:g} Hz; "
            f"{t.world_frame} -> {t.optical_frame} on {t.tf_static}"
        )

    def stop(signum, frame):  # noqa: ANN001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        arm.run(cfg.duration)
    except KeyboardInterrupt:
        pass
    finally:
        st = arm.stats
        summary = {
            "published": st.published,
            "accepted": st.accepted,
            "rejected": dict(st.rejected),
            "holds": st.holds,
            "estops": st.estops,
            "estop_delays": [round(d, 4) for d in st.estop_delays],
            "max_writers_seen": st.max_writers_seen,
            "command_times": [round(t, 4) for t in st.command_times],
            "hold_delays": [round(d, 4) for d in st.hold_delays],
            "max_publish_gap": round(st.max_publish_gap, 4),
            "frames": st.frames,
            "physics": None
            if arm.physics is None
            else {k: v for k, v in asdict(arm.physics).items() if k not in ACTUATION_DRAW},
            "actuation": {
                "delay": arm.actuation_delay,
                "jitter": arm.jitter,
                "lag": round(arm.lag, 4),
                "action_noise": arm.action_noise,
                "observation_delay": round(arm.observation_delay, 4),
                "stale_dropped": arm.stale_dropped,
            },
            "seconds": round(time.monotonic() - st.started, 3),
            # where the cell's cubes really are (ground truth a real cell lacks), for benchmarks
            "objects": {n: [round(float(v), 5) for v in p] for n, p in arm.world.scene.object_positions().items()},
        }
        if cfg.stats:
            Path(cfg.stats).write_text(json.dumps(summary))
        arm.close()
    print(json.dumps({k: v for k, v in summary.items() if k != "command_times"}))
    return 0
