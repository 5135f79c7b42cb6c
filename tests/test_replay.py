"""n-step HER returns (embodied/learning/replay.py) on hand-written episodes with known rewards."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.vec_env import DummyVecEnv

from embodied.learning.replay import NStepHerReplayBuffer

GAMMA = 0.9


class LineGoalEnv(gym.Env):
    """A goal env on a line: achieved goal = position; reward -1 unless within 0.5 of the goal."""

    def __init__(self) -> None:
        box = gym.spaces.Box(-100, 100, (1,), np.float32)
        self.observation_space = gym.spaces.Dict(observation=box, achieved_goal=box, desired_goal=box)
        self.action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray, info: object) -> np.ndarray:
        return -(np.abs(np.asarray(achieved) - np.asarray(desired))[..., 0] >= 0.5).astype(np.float32)


def obs(x: float, goal: float) -> dict[str, np.ndarray]:
    return {
        k: np.array([[v]], np.float32) for k, v in (("observation", x), ("achieved_goal", x), ("desired_goal", goal))
    }


def fill(buffer: HerReplayBuffer, positions: list[float], goal: float, last_is_timeout: bool = True) -> None:
    """One episode moving through ``positions`` (action i takes positions[i] -> positions[i+1])."""
    env = buffer.env.envs[0]
    for i in range(len(positions) - 1):
        done = i == len(positions) - 2
        reward = env.compute_reward(np.array([positions[i + 1]]), np.array([goal]), None)
        info = {"TimeLimit.truncated": done and last_is_timeout}
        buffer.add(
            obs(positions[i], goal),
            obs(positions[i + 1], goal),
            np.array([[float(i)]]),
            reward[None],
            np.array([done]),
            [info],
        )


def make(cls: type, n_sampled_goal: int, **kwargs: object) -> HerReplayBuffer:
    env = DummyVecEnv([LineGoalEnv])
    return cls(
        100,
        env.observation_space,
        env.action_space,
        env=env,
        n_sampled_goal=n_sampled_goal,
        goal_selection_strategy="future",
        handle_timeout_termination=True,
        **kwargs,
    )


def test_real_transitions_sum_the_next_n_rewards_and_stop_at_the_episode_end() -> None:
    buffer = make(NStepHerReplayBuffer, n_sampled_goal=0, n_steps=3, gamma=GAMMA)
    # Positions 0..5 past a goal at 4: rewards -1, -1, -1, 0, -1 for actions 0..4.
    fill(buffer, [0, 1, 2, 3, 4, 5], goal=4)
    rewards = [-1, -1, -1, 0, -1]
    batch = buffer._get_real_samples(np.arange(5), np.zeros(5, int))
    for t in range(5):
        m = min(3, 5 - t)
        expected = sum(GAMMA**k * rewards[t + k] for k in range(m))
        assert batch.rewards[t, 0].item() == pytest.approx(expected)
        assert batch.discounts[t, 0].item() == pytest.approx(GAMMA**m)
        # The bootstrap state is m steps on: position t + m.
        assert batch.next_observations["observation"][t, 0].item() == t + m
        assert batch.actions[t, 0].item() == t
    assert batch.dones.sum().item() == 0  # a timeout is not a terminal state


def test_a_terminal_transition_ends_the_window() -> None:
    buffer = make(NStepHerReplayBuffer, n_sampled_goal=0, n_steps=4, gamma=GAMMA)
    fill(buffer, [0, 1, 2, 3], goal=10, last_is_timeout=False)  # 3 transitions, the last one terminal
    batch = buffer._get_real_samples(np.arange(3), np.zeros(3, int))
    assert batch.dones[:, 0].tolist() == [1.0, 1.0, 1.0]
    assert batch.rewards[0, 0].item() == pytest.approx(-(1 + GAMMA + GAMMA**2))


def test_relabelled_transitions_recompute_every_reward_in_the_window_with_the_new_goal() -> None:
    buffer = make(NStepHerReplayBuffer, n_sampled_goal=4, n_steps=3, gamma=GAMMA)
    fill(buffer, [0, 1, 2, 3, 4, 5, 6], goal=100)  # the real goal is never reached
    np.random.seed(0)
    for _ in range(20):
        batch = buffer.sample(64)
        assert batch.discounts.shape == (64, 1)
        for i in range(64):
            x = batch.observations["observation"][i, 0].item()
            g = batch.observations["desired_goal"][i, 0].item()
            m = round(np.log(batch.discounts[i, 0].item()) / np.log(GAMMA))
            assert m == min(3, 6 - int(x))
            expected = sum(GAMMA**k * -float(abs(x + 1 + k - g) >= 0.5) for k in range(m))
            assert batch.rewards[i, 0].item() == pytest.approx(expected)
            assert batch.next_observations["desired_goal"][i, 0].item() == g


def test_one_step_is_exactly_her() -> None:
    plain, ours = make(HerReplayBuffer, n_sampled_goal=4), make(NStepHerReplayBuffer, n_sampled_goal=4, n_steps=1)
    for buffer in (plain, ours):
        fill(buffer, [0, 1, 2, 3, 4, 5], goal=3)
        fill(buffer, [5, 4, 3, 2], goal=0)
    np.random.seed(1)
    a = plain.sample(32)
    np.random.seed(1)
    b = ours.sample(32)
    assert b.discounts is None
    for x, y in ((a.rewards, b.rewards), (a.actions, b.actions), (a.dones, b.dones)):
        assert np.array_equal(x.numpy(), y.numpy())
    for key in a.observations:
        assert np.array_equal(a.next_observations[key].numpy(), b.next_observations[key].numpy())


@pytest.mark.parametrize("n_steps", [0, 1.5])
def test_bad_n_steps_is_refused(n_steps: float) -> None:
    with pytest.raises(ValueError, match="n_steps"):
        make(NStepHerReplayBuffer, n_sampled_goal=4, n_steps=n_steps)
