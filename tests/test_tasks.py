"""Each task's goals, achieved goal, reward and success, checked against the real physics."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import sims  # noqa: F401


def _step_zero(env):
    return env.step(np.zeros(env.action_space.shape, dtype=np.float32))


def test_reach_succeeds_when_the_gripper_gets_to_the_goal():
    env = gym.make("embodied/Reach-v0").unwrapped
    obs, info = env.reset(seed=2)
    goal = obs["desired_goal"].astype(np.float64)
    assert not info["is_success"]
    assert env.scene.on_table(goal) and 0.03 <= goal[2] <= 0.3
    for _ in range(40):  # a closed-loop policy: step straight at the goal
        action = np.clip((goal - obs["achieved_goal"]) / 0.05, -1, 1).astype(np.float32)
        obs, reward, terminated, _, info = env.step(action)
        if terminated:
            break
    assert info["is_success"] and reward == 0.0
    assert np.linalg.norm(obs["achieved_goal"] - goal) < 0.05


@pytest.mark.parametrize("env_id", ["embodied/Push-v0", "embodied/PickPlace-v0"])
def test_object_tasks_score_the_object_position(env_id):
    env = gym.make(env_id).unwrapped
    obs, info = env.reset(seed=4)
    goal = obs["desired_goal"].astype(np.float64)
    start = env.scene.object_position(env.task.object)
    assert np.linalg.norm(start - goal) >= env.scene.config.min_separation - 1e-9  # never solved at reset
    assert not info["is_success"]
    np.testing.assert_allclose(obs["achieved_goal"], start, atol=1e-6)
    # Put the cube 2.5 cm beside the goal (it may fall < 1 cm in one step): inside 5 cm.
    env.client.set_base_pose(env.task.object, (goal[0] + 0.025, goal[1], goal[2]))
    obs, reward, terminated, _, info = _step_zero(env)
    assert info["is_success"] and terminated and reward == 0.0
    # And 7 cm away: outside.
    env.client.set_base_pose(env.task.object, (goal[0] + 0.07, goal[1], goal[2]))
    obs, reward, terminated, _, info = _step_zero(env)
    assert not info["is_success"] and reward == -1.0


def test_push_goals_lie_on_the_table_and_avoid_distractors():
    env = gym.make("embodied/Push-v0", task_config={"distractors": 3}).unwrapped
    for seed in range(30):
        obs, _ = env.reset(seed=seed)
        goal = obs["desired_goal"]
        assert env.scene.on_table(goal) and goal[2] == pytest.approx(env.scene.rest_height)
        for other in env.task.others:
            assert np.linalg.norm(env.scene.object_position(other)[:2] - goal[:2]) >= 0.08 - 1e-6


def test_pick_place_goals_cover_table_air_and_stacks():
    env = gym.make(
        "embodied/PickPlace-v0", task_config={"distractors": 1, "on_cube_goal_prob": 0.3, "table_goal_prob": 0.3}
    ).unwrapped
    kinds = set()
    for seed in range(60):
        obs, _ = env.reset(seed=seed)
        goal = obs["desired_goal"].astype(np.float64)
        other = env.scene.object_position(env.task.others[0])
        if np.linalg.norm(goal - (other + [0, 0, 0.04])) < 1e-5:
            kinds.add("on_cube")
        elif goal[2] == pytest.approx(env.scene.rest_height):
            kinds.add("table")
        else:
            assert env.scene.rest_height < goal[2] <= 0.2
            kinds.add("air")
    assert kinds == {"table", "air", "on_cube"}


def test_pick_place_config_is_validated():
    with pytest.raises(ValueError, match="needs distractors >= 1"):
        gym.make("embodied/PickPlace-v0", task_config={"on_cube_goal_prob": 0.5})
    with pytest.raises(ValueError, match="on_cube_goal_prob must be <= 1"):
        gym.make(
            "embodied/PickPlace-v0", task_config={"table_goal_prob": 0.8, "on_cube_goal_prob": 0.5, "distractors": 1}
        )
