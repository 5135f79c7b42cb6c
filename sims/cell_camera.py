"""The stand-in cell's RGB-D camera, in its own process: it renders the cell as the driver
loop last sampled it and publishes the frame over ROS 2 (:mod:`robots.ros2.camera`).

Rendering takes tens of milliseconds; in the driver's loop it would stall the joint-state
rate and slow the simulated arm below real time. So the driver only sends the state (joint
positions, finger width, object poses: a few hundred bytes) at the camera's rate, and this
process, on its own core, poses a copy of the world, renders it (with the depth noise
model) and publishes it stamped with the time the state was sampled, its exposure time. A
frame arrives one render later, as a real camera's does.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from typing import Any

import numpy as np

CellState = tuple[float, list[float], float, dict[str, tuple[list[float], list[float]]]]
"""(stamp s, arm joint positions rad, gripper width m, object name -> (position, quaternion))."""


def _serve(
    robot: str, scene: Any, camera: Any, objects: Any, topics: Any, discovery: Any, states: mp.Queue, ready: Any
) -> None:
    from robots.ros2.camera import CameraPublisher
    from robots.ros2.dds import Node
    from sims.world import TabletopWorld

    world = TabletopWorld(robot=robot, scene=scene, camera=camera, objects=objects)
    publisher = CameraPublisher(Node(discovery=discovery), topics, world.camera.camera_to_world)
    # A queue, not an Event: Event.set() waits on a waiter that was killed while waiting
    # (measured: a stand-in killed during start-up left its camera process hung there).
    ready.cancel_join_thread()
    ready.put(True)
    parent = mp.parent_process()
    while True:
        try:
            state = states.get(timeout=1.0)
        except queue.Empty:
            # A killed driver (SIGKILL) cannot say goodbye: do not outlive it, rendering nothing.
            if parent is not None and not parent.is_alive():
                break
            continue
        if state is None:
            break
        stamp, q, width, objects = state
        world.robot.reset(q, gripper_width=width)
        for name, (position, orientation) in objects.items():
            world.client.set_base_pose(name, position, orientation)
        frame = world.camera.render()
        publisher.publish(frame.rgb, frame.depth, frame.intrinsics, stamp)
    world.close()


class CellCamera:
    """Starts the camera process; :meth:`send` hands it the cell's state (dropped while it is busy).

    Args:
        robot: description name. scene, camera: the cell's configs (dicts), as the driver's world.
        objects: the cubes the cell holds (None: every cube of the scene).
        topics: :class:`robots.ros2.camera.CameraTopics`. discovery: the DDS settings.
    """

    def __init__(
        self,
        robot: str,
        scene: Any,
        camera: Any,
        topics: Any,
        discovery: Any,
        timeout: float = 60.0,
        objects: Any = None,
    ):
        context = mp.get_context("spawn")  # a fresh interpreter: no PyBullet or DDS state inherited
        self._states: mp.Queue = context.Queue(maxsize=1)
        ready: mp.Queue = context.Queue(maxsize=1)
        self.process = context.Process(
            target=_serve, args=(robot, scene, camera, objects, topics, discovery, self._states, ready), daemon=True
        )
        self.process.start()
        try:
            ready.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise RuntimeError(f"the cell camera process did not start within {timeout:.0f} s") from None
        self.sent = 0
        self.dropped = 0

    def send(self, state: CellState) -> None:
        try:
            self._states.put_nowait(state)
            self.sent += 1
        except queue.Full:
            self.dropped += 1  # still rendering the previous frame: a real camera drops one too

    def close(self) -> None:
        if self.process.is_alive():
            try:
                self._states.put(None, timeout=1.0)
            except queue.Full:
                pass
            self.process.join(5.0)
            if self.process.is_alive():
                self.process.terminate()


def sample_state(world: Any, stamp: float) -> CellState:
    """The state of a :class:`sims.world.TabletopWorld` the camera process needs."""
    obs = world.robot.get_observation()
    objects = {}
    for name in world.scene.object_names:
        position, orientation = world.client.base_pose(name)
        objects[name] = (np.asarray(position).tolist(), np.asarray(orientation).tolist())
    return stamp, np.asarray(obs.joint_positions).tolist(), float(obs.gripper_width), objects
