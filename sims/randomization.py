"""Sim-to-real tools: domain randomisation, actuation delay and lag, noise, observation delay.

:class:`RandomizedEnv` wraps one of our skill environments. At every ``reset`` it draws new
physics (cube and table friction, cube mass, cube and arm-joint damping, actuator gain) and
a new actuation channel (:mod:`sims.actuation`: a delay of whole control periods, the
chance of a command arriving one period late, a first-order lag, action noise) from the
configured ranges, and an observation delay. At every ``step`` it adds Gaussian noise to
what the policy observes and, with an observation delay, shows it the previous period's
view. Rewards, ``terminated`` and ``info["is_success"]`` keep coming from the true state,
so success means the same thing with and without randomisation.

Defaults, at the 25 Hz control rate (40 ms periods):

- delay 0..3 periods (0-120 ms): command-to-motion times of arms behind ros2_control,
  driver cycle, trajectory interpolation and network included, are roughly 10-120 ms;
  MoveIt Servo's default compensates 50 ms;
- jitter 0.1: one command in ten is a period late (a busy host, a lost DDS sample);
- lag 0-60 ms: the time constant of a driver's trajectory interpolation (UR's ``servoj``
  look-ahead time is 30-200 ms; a shorter first-order constant stands for its smoothing);
- observation delay 0..1 period: a camera frame is 30-70 ms old when it is used (exposure,
  transfer, processing; the RealSense D4xx at 30 fps).

All draws come from the env's own seeded generator: same seed, same physics, same noise.
"""

from collections import deque
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import gymnasium as gym
import numpy as np
from pydantic import Field, StrictInt, model_validator

from sims.actuation import ActuationDraw
from sims.config import ConfigModel, from_mapping

Scale = Annotated[float, Field(ge=1e-3, le=100.0)]
Periods = Annotated[StrictInt, Field(ge=0, le=10)]
Seconds = Annotated[float, Field(ge=0.0, le=1.0)]
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
    delay: tuple[Periods, Periods] = Field((0, 3), description="actuation delay, control periods")
    """Control periods between sending an action and the arm executing it, drawn per episode."""
    jitter: float = Field(0.1, ge=0.0, le=1.0, description="chance a command arrives one period late")
    """Probability per step that a command arrives one period after the episode's delay."""
    lag: tuple[Seconds, Seconds] = Field((0.0, 0.06), description="first-order lag time constant, s")
    """Time constant of the first-order lag on the commanded motion (trajectory interpolation), s."""
    observation_delay: tuple[Periods, Periods] = Field((0, 1), description="observation age, control periods")
    """How many periods old the observation the policy sees is, drawn per episode."""

    @model_validator(mode="after")
    def _ordered(self) -> "RandomizationConfig":
        for name in (
            "friction_scale",
            "mass_scale",
            "object_damping",
            "joint_damping",
            "actuator_gain_scale",
            "delay",
            "lag",
            "observation_delay",
        ):
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
    delay: int
    jitter: float
    lag: float
    action_noise: float
    observation_delay: int


def scene_rng(seed: int, draw: int | None = None) -> np.random.Generator:
    """The generator a controller scene's physics is drawn from: seed ``seed`` (and ``draw``,
    when an evaluation draws per instruction). Separate from the cube placement's, so the same
    seed gives the same scene clean or randomised; shared by ``embodied run`` and the stand-in
    cell (``embodied fake-arm randomize=true``), so both draw the same physics for a seed."""
    return np.random.default_rng([seed, 0x5EED] if draw is None else [seed, 0x5EED, draw])


def draw_episode(config: RandomizationConfig, world: Any, rng: np.random.Generator) -> EpisodeDraw:
    """Draw one episode from ``config`` with ``rng``: set the physics of ``world`` (a
    :class:`sims.world.TabletopWorld`; cubes, table, arm joints, actuator gain) and return
    the whole draw, the actuation channel's and observation delay's included (for the caller
    to apply: :class:`RandomizedEnv` to the env, :class:`sims.actuation.ActuatedArm` to a world)."""

    def uniform(bounds: tuple[float, float]) -> float:
        return float(rng.uniform(bounds[0], bounds[1]))

    client, scene = world.client, world.scene
    friction = uniform(config.friction_scale)
    damping = uniform(config.object_damping)
    masses = {}
    for name in scene.object_names:
        masses[name] = uniform(config.mass_scale)
        client.set_dynamics(
            name,
            -1,
            mass=scene.config.cube_mass * masses[name],
            lateral_friction=scene.config.cube_friction * friction,
            linear_damping=damping,
            angular_damping=damping,
        )
    client.set_dynamics(scene.table_name, -1, lateral_friction=scene.table_friction * friction)
    joint_damping = uniform(config.joint_damping)
    for joint in world.robot.arm_joints:
        client.set_dynamics(world.robot_body, joint, joint_damping=joint_damping)
    gain = uniform(config.actuator_gain_scale)
    client.gain_scale = gain
    delay = int(rng.integers(config.delay[0], config.delay[1] + 1))
    lag = uniform(config.lag)
    observation_delay = int(rng.integers(config.observation_delay[0], config.observation_delay[1] + 1))
    return EpisodeDraw(
        friction,
        masses,
        damping,
        joint_damping,
        gain,
        delay,
        config.jitter,
        lag,
        config.action_noise,
        observation_delay,
    )


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
        self._seen: deque[dict[str, np.ndarray]] = deque()
        self._rng = np.random.default_rng(0)
        self.draw: EpisodeDraw | None = None

    # -- gymnasium API -----------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        # A child generator of the env's seeded one: the cube placement is unchanged by
        # randomisation, and the same seed gives the same physics and noise.
        self._rng = np.random.default_rng(self._base.np_random.integers(2**63))
        self.draw = draw_episode(self.config, self._base.world, self._rng)
        d = self.draw
        # The env's reset already started the channel; restart it with this episode's draw.
        channel = np.random.default_rng(self._rng.integers(2**63))
        self._base.actuation.restart(ActuationDraw(d.delay, d.jitter, d.lag, d.action_noise), channel)
        # The arm's latency as measuring it would find it (ActuatedArm.latency, in periods):
        # the reset observation is built again when it carries it.
        self._base.latency = float(d.delay + d.observation_delay)
        if self._base.layout.observe_latency:
            obs = self._base.observe()
        info = {**info, "randomization": asdict(d)}
        seen = self._noisy(obs)
        self._seen = deque([seen] * (d.observation_delay + 1), maxlen=d.observation_delay + 1)
        return seen, info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        action = np.asarray(action, dtype=np.float32)
        if action.shape != self.env.action_space.shape:
            raise ValueError(f"action must have shape {self.env.action_space.shape}, got {action.shape}")
        if not np.isfinite(action).all():
            raise ValueError(f"action contains NaN or inf: {action.tolist()}")
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._seen.append(self._noisy(obs))
        seen = dict(self._seen[0])
        # The state is old, the past actions are not: the policy knows what it sent.
        base = self._base.layout.base_size
        seen["observation"] = np.concatenate([seen["observation"][:base], obs["observation"][base:]])
        return seen, reward, terminated, truncated, info

    # -- internals ---------------------------------------------------------------------
    def _noisy(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        std = self.config.observation_noise
        if std == 0:
            return obs
        out = dict(obs)
        for key in ("observation", "achieved_goal"):
            noise = self._rng.normal(0.0, std, obs[key].shape)
            if key == "observation":
                noise[self._base.layout.base_size :] = 0.0  # the past actions are known exactly
            out[key] = (obs[key] + noise).astype(obs[key].dtype)
        return out
