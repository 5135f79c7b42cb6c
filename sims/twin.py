"""A digital twin: a remote arm (ROS 2, through the safety layer) mirrored into the simulated world.

:class:`TwinArm` is the :class:`Robot` the controller drives during ``embodied deploy``.
Every action goes to the remote arm, which paces the loop at its control period; then the
simulated arm is driven to the joint state the remote arm reports, and physics advances one
period so that the simulated objects respond to where the real arm actually is. With the
cell's camera (the default), the twin holds the objects the camera reported and perception,
sub-goal checks and tracking read the camera topics; without it (``cell_camera.enabled=false``)
the twin's own cubes are the only ones, and perception reads the twin world.
"""

from __future__ import annotations

from robots.robot import Robot, RobotAction, RobotObservation
from robots.sim_arm import SimulatedArm
from sims.client import PyBulletClient


class TwinArm(Robot):
    """Drive ``remote``; keep ``twin`` (in ``client``'s world) at ``remote``'s measured state.

    Args:
        remote: the arm that really moves (e.g. ``SafetyLayer(Ros2Arm(...))``).
        twin: the simulated arm of the world the controller perceives.
        client: that world's physics client.
    """

    def __init__(self, remote: Robot, twin: SimulatedArm, client: PyBulletClient) -> None:
        self.remote = remote
        self.twin = twin
        self.client = client
        self.description = twin.description  # the controller's moves read the arm's limits from it
        self.period = twin.description.control_period

    @property
    def is_connected(self) -> bool:
        return self.remote.is_connected

    def connect(self) -> None:
        self.remote.connect()
        self.sync(teleport=True)

    def disconnect(self) -> None:
        self.remote.disconnect()

    def sync(self, teleport: bool = False, gripper_width: float | None = None) -> RobotObservation:
        """Bring the twin to the remote arm's measured joints; returns the remote observation.

        ``teleport`` places the arm at once (start of a session); otherwise the twin's joint
        servos track the measured joints over one control period, so contacts stay physical.
        The twin's gripper follows the *commanded* ``gripper_width`` (None: unchanged), not the
        measured one: the remote closes on air when the cube exists only in the twin, and the
        twin's fingers must stop on the cube.
        """
        obs = self.remote.get_observation()
        if teleport:
            self.twin.reset(obs.joint_positions, gripper_width=obs.gripper_width)
        else:
            self.twin.command(obs.joint_positions, gripper_width=gripper_width)
            self.client.advance(self.period)
        return obs

    def get_observation(self) -> RobotObservation:
        """The remote arm's state, with the gripper width of the twin (where the objects are)."""
        obs = self.remote.get_observation()
        twin = self.twin.get_observation()
        return RobotObservation(
            joint_positions=obs.joint_positions,
            joint_velocities=obs.joint_velocities,
            ee_position=obs.ee_position,
            ee_orientation=obs.ee_orientation,
            ee_velocity=obs.ee_velocity,
            gripper_width=twin.gripper_width,
            timestamp=obs.timestamp,
        )

    def send_action(self, action: RobotAction) -> RobotAction:
        """Drive the remote arm one period, then the twin after it.

        Raises:
            MotionHalted: the remote's safety layer latched a fault (e-stop, unexpected
                motion): the job must end rather than keep commanding a held arm.
        """
        sent = self.remote.send_action(action)
        fault = getattr(self.remote, "fault", None)  # a SafetyLayer's latched fault, if any
        if fault is not None:
            raise fault
        self.sync(gripper_width=sent.gripper_width)
        return sent

    def observation_age(self) -> float:
        return self.remote.observation_age()

    @property
    def latency(self) -> float:
        return self.remote.latency

    def stop(self) -> None:
        self.remote.stop()
        self.twin.stop()
