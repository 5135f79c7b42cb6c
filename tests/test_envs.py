"""Every registered skill environment: API checks, determinism, bad actions, rewards."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import sims
import sims.env

ENV_IDS = sims.ENV_IDS


def test_the_design_env_ids_are_registered():
    assert {"embodied/Reach-v0", "embodied/Push-v0", "embodied/PickPlace-v0"} <= set(ENV_IDS)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env(env_id):
    env = gym.make(env_id)
    gym_check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env(env_id):
    from stable_baselines3.common.env_checker import check_env

    env = gym.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from the checker is a failure, not a note
        check_env(env.unwrapped, warn=True)
    env.close()


def _rollout(env: gym.Env, seed: int, actions: np.ndarray) -> list[np.ndarray]:
    obs, _ = env.reset(seed=seed)
    out = [np.concatenate([obs[k] for k in sorted(obs)])]
    for a in actions:
        obs, _, terminated, truncated, _ = env.step(a)
        out.append(np.concatenate([obs[k] for k in sorted(obs)]))
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(np.concatenate([obs[k] for k in sorted(obs)]))
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_actions_identical_observations(env_id):
    a, b = gym.make(env_id), gym.make(env_id)
    actions = np.random.default_rng(0).uniform(-1, 1, (120, *a.action_space.shape)).astype(np.float32)
    first = _rollout(a, 5, actions)
    # A second rollout in the same env (contacts from the first must not leak in) and one
    # in a fresh env must both match exactly.
    again = _rollout(a, 5, actions)
    fresh = _rollout(b, 5, actions)
    for x, y, z in zip(first, again, fresh, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    other = _rollout(b, 6, actions[:1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("kind", ["nan", "inf", "short", "long", "matrix"])
def test_bad_action_raises_value_error_and_does_not_touch_the_sim(env_id, kind):
    env = gym.make(env_id)
    ref = gym.make(env_id)
    n = env.action_space.shape[0]
    bad = {
        "nan": np.full(n, np.nan),
        "inf": np.array([np.inf] + [0.0] * (n - 1)),
        "short": np.zeros(n - 1),
        "long": np.zeros(n + 1),
        "matrix": np.zeros((2, n)),
    }[kind]
    env.reset(seed=1)
    ref.reset(seed=1)
    good = np.full(n, 0.5, dtype=np.float32)
    with pytest.raises(ValueError, match="NaN or inf" if kind in ("nan", "inf") else "shape"):
        env.step(bad)
    # The failed call changed nothing: the next good step equals the reference env's.
    obs, *_ = env.step(good)
    ref_obs, *_ = ref.step(good)
    for key in obs:
        np.testing.assert_array_equal(obs[key], ref_obs[key])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_compute_reward_is_vectorised_and_matches_step(env_id):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    rewards, achieved, desired, successes = [], [], [], []
    for a in np.random.default_rng(1).uniform(-1, 1, (20, *env.action_space.shape)):
        obs, r, terminated, truncated, info = env.step(a.astype(np.float32))
        rewards.append(r)
        achieved.append(obs["achieved_goal"])
        desired.append(obs["desired_goal"])
        successes.append(info["is_success"])
        assert terminated == info["is_success"]
    batch = env.unwrapped.compute_reward(np.array(achieved), np.array(desired), [{}] * 20)
    assert batch.shape == (20,)
    np.testing.assert_allclose(batch, rewards)
    assert set(np.unique(batch)) <= {-1.0, 0.0}
    # Relabelled with its own achieved goal, every transition is a success (reward 0).
    np.testing.assert_array_equal(env.unwrapped.compute_reward(np.array(achieved), np.array(achieved), None), 0.0)


def test_dense_reward_is_minus_distance():
    env = gym.make("embodied/Push-v0", task_config={"reward_type": "dense"})
    obs, _ = env.reset(seed=0)
    obs, r, *_ = env.step(np.zeros(3, dtype=np.float32))
    assert r == pytest.approx(-np.linalg.norm(obs["achieved_goal"] - obs["desired_goal"]), rel=1e-5)


def test_episode_is_truncated_after_50_steps():
    env = gym.make("embodied/Reach-v0")
    env.reset(seed=0)
    for i in range(50):  # noqa: B007  (i is checked after the loop)
        _, _, terminated, truncated, _ = env.step(np.zeros(3, dtype=np.float32))
        assert not terminated
    assert truncated and i == 49


def test_bad_env_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown task 'fly'"):
        sims.env.RobotTaskEnv(task="fly")
    with pytest.raises(ValueError, match="colour: unknown key"):
        gym.make("embodied/Push-v0", task_config={"colour": "red"})
    with pytest.raises(ValueError, match="must equal the robot's control period"):
        gym.make("embodied/Push-v0", sim={"substeps": 5})
    with pytest.raises(ValueError, match="unknown object 'purple_cube'"):
        gym.make("embodied/Push-v0", task_config={"object": "purple_cube"})
    with pytest.raises(ValueError, match="render_mode"):
        gym.make("embodied/Push-v0", render_mode="video")


def test_distractors_join_the_scene_and_the_observation():
    env = gym.make("embodied/PickPlace-v0", task_config={"distractors": 3, "object": "random"})
    obs, _ = env.reset(seed=3)
    assert obs["observation"].shape == (7 + 13 + 9,)
    assert env.unwrapped.scene.object_names == ["red_cube", "green_cube", "blue_cube", "yellow_cube"]
    objects = {env.unwrapped.task.object for _ in range(20) if env.reset() is not None}
    assert len(objects) > 1


def test_rgb_array_render_is_headless():
    env = gym.make("embodied/PickPlace-v0", render_mode="rgb_array", camera={"width": 128, "height": 96})
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (96, 128, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # not a blank image


@pytest.mark.parametrize("env_id", ["embodied/Push-v0", "embodied/PickPlace-v0"])
def test_reset_does_not_depend_on_what_happened_before(env_id):
    """Contact caches must not leak across resets (panda-gym's PickAndPlace fails this)."""
    env = gym.make(env_id, task_config={"distractors": 2}).unwrapped
    rng = np.random.default_rng(0)
    for seed in range(6):
        actions = rng.uniform(-1, 1, (8, *env.action_space.shape))
        runs = []
        for history in range(2):
            env.reset(seed=1000 + 10 * seed + history)
            for a in rng.uniform(-1, 1, (int(rng.integers(5, 60)), *env.action_space.shape)):
                env.step(a)  # a different history before each repeat
            env.reset(seed=seed)
            runs.append([env.step(a)[0] for a in actions])
        for x, y in zip(*runs, strict=True):
            for key in x:
                np.testing.assert_array_equal(x[key], y[key])
