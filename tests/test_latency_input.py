"""The arm's latency as a skill input: built into the observation in one place, set from the
randomisation's draw in training, from the arm (``Robot.latency``) at run time, credited by
the push prior, and refused in one line when a checkpoint and its config disagree."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from embodied.execution.skill_executors import SkillExecutor, SkillUnavailable
from embodied.learning.catalogue import prior_layout, skill_config
from embodied.learning.prior_config import PriorConfig
from embodied.learning.priors import ObsLayout, prior_action
from embodied.perception.tracker import SimTracker
from robots.robot import RobotObservation
from sims.actuation import ActuatedArm, ActuationDraw
from sims.observation import ActionHistory, ObjectState, ObservationLayout
from sims.randomization import RandomizedEnv

ROBOT = RobotObservation(np.zeros(7), np.zeros(7), np.zeros(3), np.array([0, 0, 0, 1.0]), np.zeros(3), 0.08, 0)


def test_the_latency_is_the_last_part_and_must_be_a_period_count():
    layout = ObservationLayout(uses_object=True, distractors=1, action_history=2, observe_latency=True)
    without = ObservationLayout(uses_object=True, distractors=1, action_history=2)
    assert layout.size == without.size + 1 and layout.index("latency") == layout.size - 1
    assert layout.base_size == without.base_size  # noise and observation delay stop before the past actions
    assert layout.prior_layout()["latency"] == layout.size - 1 and without.prior_layout()["latency"] is None
    history = ActionHistory(2, 3)
    history.reset(np.zeros(3))
    cube = ObjectState.at_rest([0.5, 0, 0.02])
    assert layout.build(ROBOT, cube, [], history, latency=2.5)[-1] == 2.5
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="latency must be a finite number of periods"):
            layout.build(ROBOT, cube, [], history, latency=bad)


def test_a_mismatched_latency_is_named_both_ways():
    layout = ObservationLayout(uses_object=True, distractors=3, action_history=4, observe_latency=True)
    without = ObservationLayout(uses_object=True, distractors=3, action_history=4)
    assert layout.mismatch(layout.size) is None
    said = layout.mismatch(without.size)
    assert "trained with no latency" in said and "set task.observe_latency=false" in said
    said = without.mismatch(layout.size)
    assert "trained with the arm's latency" in said and "set task.observe_latency=true" in said
    # a difference of past actions is still named as such with the latency on
    assert "its last 2 actions" in layout.mismatch(layout.size - 2 * 3)


def test_randomised_training_sees_the_drawn_latency_exact_and_current():
    cfg = skill_config("push")
    assert cfg.task.observe_latency  # the shipped push takes it
    env = RandomizedEnv(gym.make(cfg.env_id, task_config=dict(cfg.task)))
    at = env.unwrapped.layout.index("latency")
    seen = set()
    for seed in range(12):
        obs, info = env.reset(seed=seed)
        draw = info["randomization"]
        want = draw["delay"] + draw["observation_delay"]
        assert obs["observation"][at] == want  # no observation noise on it, even at reset
        for _ in range(3):
            obs, *_ = env.step(env.action_space.sample())
            assert obs["observation"][at] == want
        seen.add(want)
    assert len(seen) >= 3  # it varies with the draw
    clean = gym.make(cfg.env_id, task_config=dict(cfg.task))
    assert clean.reset(seed=0)[0]["observation"][at] == 0.0
    env.close(), clean.close()


def test_the_executor_reads_the_arms_latency_as_the_env_has_it():
    """Train/run parity with the latency: a world's arm behind the same draw gives the
    executor the observation the randomised env gives the policy, latency included."""
    cfg = skill_config("push")
    randomization = {"observation_noise": 0.0, "action_noise": 0.0, "jitter": 0.0}
    env = RandomizedEnv(gym.make(cfg.env_id, task_config=dict(cfg.task)), randomization)
    executor = SkillExecutor("push", "scripted")
    inner = env.unwrapped
    for seed in (1, 2, 3):
        obs, info = env.reset(seed=seed)
        d = info["randomization"]
        world = inner.world
        plain = world.robot
        world.robot = ActuatedArm(plain)
        world.robot.restart(ActuationDraw(d["delay"]), d["observation_delay"], 0.0, np.random.default_rng(0))
        try:
            assert world.robot.latency == pytest.approx((d["delay"] + d["observation_delay"]) * 0.04)
            built = executor.observation(world, SimTracker(world, inner.task.object), executor.history(world))
            np.testing.assert_allclose(built, obs["observation"], atol=1e-6)
            layout = ObsLayout(**prior_layout(cfg))
            prior = PriorConfig(**dict(cfg.prior))
            goal = torch.as_tensor(obs["desired_goal"])[None]
            a = prior_action(torch.as_tensor(built)[None], goal, layout, prior, 3)
            b = prior_action(torch.as_tensor(obs["observation"])[None], goal, layout, prior, 3)
            torch.testing.assert_close(a, b)
        finally:
            world.robot = plain
    env.close()


def test_the_push_prior_credits_in_flight_motion_by_the_latency():
    cfg = skill_config("push")
    layout = ObsLayout(**prior_layout(cfg))
    prior = PriorConfig(**dict(cfg.prior))
    assert prior.lead_reference == 3
    env = gym.make(cfg.env_id, task_config=dict(cfg.task))
    obs, _ = env.reset(seed=4)
    env.close()
    o = torch.as_tensor(obs["observation"]).repeat(4, 1)
    k, dim = layout.history_len, layout.action_dim
    o[:, layout.history : layout.history + k * dim] = torch.tensor([1.0, 0.0, 0.0]).repeat(k)  # moving +x
    o[:, layout.latency] = torch.tensor([0.0, 3.0, 6.0, 9.0])
    from embodied.learning.priors import _in_flight

    ahead = _in_flight(o, layout, prior)[:, 0]
    step_sum = prior.step * k  # the past actions' whole motion, m
    torch.testing.assert_close(ahead, torch.tensor([0.0, 0.5, 1.0, 1.0]) * step_sum)
    # without the latency in the observation the fixed lead applies, whatever the arm
    fixed = ObsLayout(**{**prior_layout(cfg), "latency": None})
    torch.testing.assert_close(_in_flight(o, fixed, prior)[:, 0], torch.full((4,), 0.5 * step_sum))


def test_a_policy_without_latency_is_refused_where_one_is_expected(monkeypatch):
    """A checkpoint trained with the latency is refused, in one line, by a config without it."""
    import sims

    real = sims.observation_layout
    monkeypatch.setattr(
        "embodied.execution.skill_executors.observation_layout",
        lambda env_id, t: real(env_id, {**dict(t), "observe_latency": False}),
    )
    with pytest.raises(SkillUnavailable, match=r"trained with the arm's latency.*set task.observe_latency=true"):
        SkillExecutor("push", "learned")
