"""The skill observation is one contract built in one place: the training env, the executors
that run skills in `embodied run`/`deploy`, and the priors all read it from sims.observation."""

import gymnasium as gym
import numpy as np
import pytest

import sims
from embodied.execution.skill_executors import SkillExecutor
from embodied.learning.catalogue import prior_layout, skill_config
from embodied.perception.tracker import SimTracker
from robots.robot import RobotObservation
from sims.observation import PARKED, ObjectState, ObservationLayout


@pytest.mark.parametrize("skill", ["push", "pick_place"])
def test_executor_sees_exactly_what_the_training_env_sees(skill):
    cfg = skill_config(skill)
    env = gym.make(cfg.env_id, task_config=dict(cfg.task))
    try:
        executor = SkillExecutor(skill, "scripted")
        for seed in (0, 7):
            obs, _ = env.reset(seed=seed)
            inner = env.unwrapped
            history = executor.history(inner.world)  # started as the env starts its episode
            for _ in range(5):  # also while things move, the actions sent in the history
                action = env.action_space.sample()
                obs, *_ = env.step(action)
                history.push(np.clip(action, -1.0, 1.0))
            built = executor.observation(inner.world, SimTracker(inner.world, inner.task.object), history)
            np.testing.assert_array_equal(built, obs["observation"])
            assert np.abs(built[executor.layout.index("past_actions") :]).sum() > 0  # the history is in it
    finally:
        env.close()


def test_missing_distractors_are_parked_and_extra_ones_cut():
    layout = ObservationLayout(uses_object=True, distractors=3)
    robot = RobotObservation(
        joint_positions=np.zeros(7),
        joint_velocities=np.zeros(7),
        ee_position=np.array([0.4, 0.0, 0.2]),
        ee_orientation=np.array([0.0, 0.0, 0.0, 1.0]),
        ee_velocity=np.zeros(3),
        gripper_width=0.08,
        timestamp=0.0,
    )
    cube = ObjectState.at_rest([0.5, 0.1, 0.02])
    one = layout.build(robot, cube, [[0.6, -0.1, 0.02]])
    assert one.shape == (layout.size,) == (7 + 13 + 9,)
    at = layout.index("distractor_1")
    np.testing.assert_allclose(one[at : at + 3], PARKED)
    np.testing.assert_allclose(one[at + 3 : at + 6], PARKED)
    five = layout.build(robot, cube, [[0.1 * i, 0, 0.02] for i in range(5)])
    np.testing.assert_allclose(five[-3:], [0.2, 0, 0.02])
    with pytest.raises(ValueError, match="needs the state of the object"):
        layout.build(robot, None, [])


@pytest.mark.parametrize("skill", ["reach", "push", "pick_place"])
def test_prior_indices_come_from_the_builder(skill):
    cfg = skill_config(skill)
    layout = sims.observation_layout(cfg.env_id, dict(cfg.task))
    indices = prior_layout(cfg)
    assert indices["ee"] == layout.index("ee_position") == 0
    assert indices["width"] == layout.index("gripper_width") == 6
    assert indices["obj"] == (layout.index("object_position") if layout.uses_object else None)
    assert indices["history_len"] == layout.action_history == 4
    latency = int(layout.observe_latency)  # the push's latency comes after the past actions
    assert indices["history"] == layout.index("past_actions") == layout.size - 4 * indices["action_dim"] - latency
    assert indices["latency"] == (layout.size - 1 if latency else None)
    env = gym.make(cfg.env_id, task_config=dict(cfg.task))
    assert env.observation_space["observation"].shape == (layout.size,)
    env.close()
