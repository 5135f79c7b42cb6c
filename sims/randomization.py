"""Sim-to-real tools: domain randomisation, observation and action noise, and latency.

:class:`RandomizedEnv` wraps one of our skill environments. At every ``reset`` it draws new
physics (cube and table friction, cube mass, cube and arm-joint damping, actuator gain) from
the configured ranges, and a latency of 0..``latency`` control periods; at every ``step`` it
adds Gaussian noise to the action the policy sent, and to what the policy observes. Rewards,
``terminated`` and ``info["is_success"]`` keep coming from the true state, so success means
the same thing with and without randomisation.

All draws come from the env's own seeded generator: same seed, same physics, same noise.
"""

from collections import deque
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import gymnasium as gym
import numpy as np
from pydantic import Field, StrictInt, model_validator

from sims.config import ConfigModel, from_mapping

Scale = Annotated[float, Field(ge=1e-3, le=100.0)]
NonNegative = Annotated[float, Field(ge=0.0, le=100.0)]


class RandomizationConfig(ConfigModel):
    """What varies between episodes and steps (the schema behind ``configs/randomization``).

    Ranges are ``[min, max]``, drawn uniformly once per episode. A range of ``[1, 1]`` (for
    scales) or ``[0, 0]`` and a noise of 0 switch that part off.
    """

    friction_scale: tuple[Scale, Scale] = Field((0.7, 1.3), description="factor on cube and table friction")
    """Factor on the cubes' and the table's lateral friction (nominal 0.8)."""
    mass_scale: tuple[Scale, Scale] = Field((0.7, 1.5), description="factor on each cube's mass")
    """Factor on each cube's mass (nominal ``scene.cube_mass``)."""
    object_damping: tuple[NonNegative, NonNegative] = Field((0.0, 0.2), description="cubes' damping")
    """Linear and angular damping of the cubes (PyBullet's default is 0.04)."""
    joint_damping: tuple[NonNegative, NonNegative] = Field((0.0, 0.5), description="arm joints' damping, N*m*s/rad")
    """Viscous damping of the arm's joints, N*m*s/rad."""
    actuator_gain_scale: tuple[Scale, Scale] = Field((0.7, 1.3), description="factor on sim.position_gain")
    """Factor on the joint position-control gain (``sim.position_gain``): a softer or stiffer servo."""
    observation_noise: float = Field(0.002, ge=0.0, le=1.0, description="std of observation noise, m or m/s")
    """Std of Gaussian noise on the observation vector and the achieved goal (m, m/s)."""
    action_noise: float = Field(0.05, ge=0.0, le=1.0, description="std of action noise, [-1, 1] units")
    """Std of Gaussian noise on each action component, in the action's [-1, 1] units."""
    latency: StrictInt = Field(2, ge=0, le=10, description="largest action delay, control periods")
    """Largest delay between sending an action and the arm executing it, control periods;
    each episode draws a delay in 0..latency."""

    @model_validator(mode="after")
    def _ordered(self) -> "RandomizationConfig":
        for name in ("friction_scale", "mass_scale", "object_damping", "joint_damping", "actuator_gain_scale"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"randomization.{name} must be [min, max] with min <= max, got {[low, high]}")
        return self


@dataclass(frozen=True)
class EpisodeDraw:
    """The physics and delay of one episode (reported in ``info["randomization"]`` at reset)."""

    friction_scale: float
    mass_scale: dict[str, float]
    object_damping: float
    joint_damping: float
    actuator_gain_scale: float
    latency: int


class RandomizedEnv(gym.Wrapper):
    """Domain randomisation, noise and latency around a :class:`sims.env.RobotTaskEnv`.

    Args:
        env: the skill env (possibly inside gymnasium's standard wrappers).
        config: a :class:`RandomizationConfig` or a dict of its fields.
    """

    def __init__(self, env: gym.Env, config: RandomizationConfig | dict[str, Any] | None = None) -> None:
        super().__init__(env)
        self.config = from_mapping(RandomizationConfig, config)
        base = env.unwrapped
        if not hasattr(base, "world"):
            raise TypeError(f"RandomizedEnv needs one of our skill envs (embodied/*), got {type(base).__name__}")
        self._base = base
        self._uses_gripper = env.action_space.shape[0] == 4
        self._queue: deque[np.ndarray] = deque()
        self._rng = np.random.default_rng(0)
        self.draw: EpisodeDraw | None = None

    # -- gymnasium API -----------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        # A child generator of the env's seeded one: the cube placement is unchanged by
        # randomisation, and the same seed gives the same physics and noise.
        self._rng = np.random.default_rng(self._base.np_random.integers(2**63))
        self.draw = self._apply_physics()
        # Until the first delayed action arrives the arm holds still (gripper as reset left it).
        hold = np.zeros(self.env.action_space.shape, dtype=np.float32)
        if self._uses_gripper:
            hold[3] = 1.0
        self._queue = deque([hold] * self.draw.latency)
        info = {**info, "randomization": asdict(self.draw)}
        return self._noisy(obs), info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.env.action_space.shape:
            raise ValueError(f"action must have shape {self.env.action_space.shape}, got {action.shape}")
        if not np.isfinite(action).all():
            raise ValueError(f"action contains NaN or inf: {action.tolist()}")
        if self.config.action_noise > 0:
            action = action + self._rng.normal(0.0, self.config.action_noise, action.shape).astype(np.float32)
        self._queue.append(np.clip(action, -1.0, 1.0))
        obs, reward, terminated, truncated, info = self.env.step(self._queue.popleft())
        return self._noisy(obs), reward, terminated, truncated, info

    # -- internals ---------------------------------------------------------------------
    def _uniform(self, bounds: tuple[float, float]) -> float:
        return float(self._rng.uniform(bounds[0], bounds[1]))

    def _apply_physics(self) -> EpisodeDraw:
        cfg, world = self.config, self._base.world
        client, scene = world.client, world.scene
        friction = self._uniform(cfg.friction_scale)
        damping = self._uniform(cfg.object_damping)
        masses = {}
        for name in scene.object_names:
            masses[name] = self._uniform(cfg.mass_scale)
            client.set_dynamics(
                name,
                -1,
                mass=scene.config.cube_mass * masses[name],
                lateral_friction=scene.config.cube_friction * friction,
                linear_damping=damping,
                angular_damping=damping,
            )
        client.set_dynamics(scene.table_name, -1, lateral_friction=scene.table_friction * friction)
        joint_damping = self._uniform(cfg.joint_damping)
        for joint in world.robot.arm_joints:
            client.set_dynamics(world.robot.name, joint, joint_damping=joint_damping)
        gain = self._uniform(cfg.actuator_gain_scale)
        client.gain_scale = gain
        latency = int(self._rng.integers(0, cfg.latency + 1))
        return EpisodeDraw(friction, masses, damping, joint_damping, gain, latency)

    def _noisy(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        std = self.config.observation_noise
        if std == 0:
            return obs
        out = dict(obs)
        for key in ("observation", "achieved_goal"):
            out[key] = (obs[key] + self._rng.normal(0.0, std, obs[key].shape)).astype(obs[key].dtype)
        return out
