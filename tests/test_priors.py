"""The scripted motion priors and the residual policy built on them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import sims  # noqa: F401
from embodied.learning.priors import ObsLayout, PriorConfig, prior_action


def prior_wins(env: gym.Env, layout: ObsLayout, cfg: PriorConfig, episodes: int, first_seed: int) -> int:
    """Episodes (seeded ``first_seed`` + i) the prior alone solves in ``env``; closes the env."""
    wins = 0
    for ep in range(episodes):
        obs, _ = env.reset(seed=first_seed + ep)
        done = False
        while not done:
            o = torch.as_tensor(obs["observation"])[None]
            g = torch.as_tensor(obs["desired_goal"])[None]
            a = prior_action(o, g, layout, cfg, env.action_space.shape[0])[0].numpy()
            obs, _, terminated, truncated, info = env.step(a)
            done = terminated or truncated
        wins += bool(info["is_success"])
    env.close()
    return wins


def run_prior(env_id: str, kind: str, episodes: int, task: dict | None = None) -> float:
    env = gym.make(env_id, task_config=task or {})
    return prior_wins(env, ObsLayout(), PriorConfig(kind=kind), episodes, 500) / episodes


@pytest.mark.parametrize(
    ("env_id", "kind", "task"),
    [
        ("embodied/Push-v0", "push", {}),
        ("embodied/PickPlace-v0", "pick_place", {}),
        ("embodied/PickPlace-v0", "pick_place", {"distractors": 3, "object": "random", "on_cube_goal_prob": 0.5}),
    ],
)
def test_prior_alone_solves_most_episodes_in_real_physics(env_id, kind, task):
    assert run_prior(env_id, kind, 8, task) >= 0.75


def test_prior_is_batched_row_by_row():
    rng = np.random.default_rng(0)
    obs = torch.as_tensor(rng.uniform(-0.3, 0.6, (16, 20)), dtype=torch.float32)
    goal = torch.as_tensor(rng.uniform(-0.3, 0.6, (16, 3)), dtype=torch.float32)
    for kind, dim in (("reach", 3), ("push", 3), ("pick_place", 4)):
        cfg = PriorConfig(kind=kind)
        batch = prior_action(obs, goal, ObsLayout(), cfg, dim)
        rows = torch.cat([prior_action(obs[i : i + 1], goal[i : i + 1], ObsLayout(), cfg, dim) for i in range(16)])
        assert torch.allclose(batch, rows)
        assert batch.abs().max() <= 1.0


def test_prior_rejects_unknown_kind_and_wrong_action_size():
    with pytest.raises(ValueError, match="kind"):
        PriorConfig(kind="juggle")
    with pytest.raises(ValueError, match="action dims"):
        prior_action(torch.zeros(1, 20), torch.zeros(1, 3), ObsLayout(), PriorConfig(kind="push"), 4)


def test_untrained_residual_policy_acts_exactly_like_the_prior_and_stays_in_bounds():
    from stable_baselines3 import HerReplayBuffer

    from embodied.learning.algorithms import ResidualSAC
    from embodied.learning.policies import SACResidualPolicy

    env = gym.make("embodied/PickPlace-v0")
    model = ResidualSAC(
        SACResidualPolicy,
        env,
        replay_buffer_class=HerReplayBuffer,
        policy_kwargs={"prior": {"kind": "pick_place"}, "net_arch": [16], "residual_scale": 0.3},
        seed=0,
    )
    obs, _ = env.reset(seed=3)
    expected = prior_action(
        torch.as_tensor(obs["observation"])[None],
        torch.as_tensor(obs["desired_goal"])[None],
        ObsLayout(),
        PriorConfig(kind="pick_place"),
        4,
    )[0].numpy()
    action, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(action, expected, atol=1e-6)
    # Stochastic actions: the prior plus at most residual_scale, within the action box.
    tensors, _ = model.policy.obs_to_tensor(obs)
    samples, log_prob = model.policy.actor.action_log_prob({k: v.repeat(256, 1) for k, v in tensors.items()})
    assert samples.abs().max() <= 1.0
    assert (samples - torch.as_tensor(expected)).abs().max() <= 0.3 + 1e-6
    assert torch.isfinite(log_prob).all()
    env.close()


# -- delay: the past actions in the observation -----------------------------------------
HIST = ObsLayout(history=20, history_len=4, action_dim=4)


def _obs(ee, obj, width=0.08, past=None) -> torch.Tensor:
    """A 36-value observation: ee at 0, width at 6, object at 7, 4 past 4-d actions at 20."""
    o = torch.zeros(1, 36)
    o[0, 0:3] = torch.tensor(ee)
    o[0, 6] = width
    o[0, 7:10] = torch.tensor(obj)
    if past is not None:
        o[0, 20:36] = torch.tensor(past, dtype=torch.float32).reshape(-1)
    return o


def test_motion_is_aimed_from_where_the_in_flight_actions_take_the_hand():
    cfg = PriorConfig(kind="reach", gain=0.5, lead=0.5)
    layout = ObsLayout(history=20, history_len=4, action_dim=3, obj=None)
    goal = torch.tensor([[0.10, 0.0, 0.2]])
    still = torch.zeros(1, 32)
    still[0, 2] = 0.2
    moving = still.clone()
    moving[0, 20:32] = torch.tensor([1.0, 0.0, 0.0] * 4)  # four full steps towards +x already sent
    a_still = prior_action(still, goal, layout, cfg, 3)[0]
    a_moving = prior_action(moving, goal, layout, cfg, 3)[0]
    # Standing still, half the 10 cm error (5 cm = one unit action); with 0.5 x 4 x 5 cm = 10 cm
    # in flight the hand is already going to the goal: no new motion.
    assert a_still[0].item() == pytest.approx(1.0)
    assert a_moving.abs().max().item() == pytest.approx(0.0, abs=1e-6)
    # Without past actions in the layout (or lead 0) the same numbers give the clean prior.
    plain = prior_action(moving, goal, ObsLayout(obj=None), cfg, 3)[0]
    assert plain[0].item() == pytest.approx(1.0)


def test_the_grasp_keeps_closing_once_started_and_takes_a_turned_cube_as_held():
    cfg = PriorConfig(kind="pick_place", gain=0.5, lead=0.5)
    obj, goal = [0.5, 0.0, 0.02], torch.tensor([[0.4, 0.1, 0.02]])
    open_ = [0.0, 0.0, 0.0, 1.0]
    closed = [0.0, 0.0, 0.0, -1.0]
    # 1.5 cm off the cube: too far to start closing, close enough to go on closing.
    ee = [0.515, 0.0, 0.02]
    assert prior_action(_obs(ee, obj, past=[open_] * 4), goal, HIST, cfg, 4)[0, 3] == 1.0
    assert prior_action(_obs(ee, obj, past=[closed, open_, open_, open_]), goal, HIST, cfg, 4)[0, 3] == -1.0
    # Without a memory (no past actions) the same state opens again.
    assert prior_action(_obs(ee, obj), goal, ObsLayout(), cfg, 4)[0, 3] == 1.0
    # Closed for all four remembered periods on 5.6 cm (a cube across its diagonal): held, so it lifts.
    on_cube = [0.5, 0.0, 0.02]
    turned = prior_action(_obs(on_cube, obj, width=0.056, past=[closed] * 4), goal, HIST, cfg, 4)[0]
    assert turned[3] == -1.0 and turned[2] > 0.1
    # Closing for a single period, the same width is not yet a grasp: hold still.
    starting = prior_action(_obs(on_cube, obj, width=0.056, past=[closed, open_, open_, open_]), goal, HIST, cfg, 4)[0]
    assert starting[3] == -1.0 and starting[:3].abs().max() < 1e-6


def test_a_held_cube_measured_a_periods_motion_away_from_the_hand_is_still_held():
    """A tracker later than the joint states sees a carried cube trail the fingers."""
    cfg = PriorConfig(kind="pick_place", gain=0.5, lead=0.5)
    goal = torch.tensor([[0.5, 0.3, 0.1]])
    carrying = [[0.0, 1.0, 0.0, -1.0]] * 4  # closed for every remembered period, moving 5 cm/period in +y
    ee, trailing = [0.5, 0.10, 0.1], [0.5, 0.065, 0.1]  # 3.5 cm behind the hand
    held = prior_action(_obs(ee, trailing, width=0.04, past=carrying), goal, HIST, cfg, 4)[0]
    assert held[3] == -1.0  # keeps the grasp
    # The same offset with the fingers closed on nothing (width 0), or after standing still: not held.
    empty = prior_action(_obs(ee, trailing, width=0.0, past=carrying), goal, HIST, cfg, 4)[0]
    still = [[0.0, 0.0, 0.0, -1.0]] * 4
    resting = prior_action(_obs(ee, trailing, width=0.04, past=still), goal, HIST, cfg, 4)[0]
    assert empty[3] == 1.0 and resting[3] == 1.0


def test_a_push_never_chases_the_cube_faster_than_push_speed():
    """The hand on the line behind a cube that slid 6 cm ahead: it follows at push_speed."""
    layout = ObsLayout(history=20, history_len=4, action_dim=3)
    cfg = PriorConfig(kind="push", gain=0.5, lead=0.5, push_speed=0.015)
    obj, goal = [0.5, 0.0, 0.02], torch.tensor([[0.7, 0.0, 0.02]])
    o = torch.zeros(1, 32)
    o[0, 0:3] = torch.tensor([0.5 - 0.032 - 0.06, 0.0, 0.02])  # fingers 6 cm behind the cube's back face
    o[0, 7:10] = torch.tensor(obj)
    a = prior_action(o, goal, layout, cfg, 3)[0]
    assert 0.0 < a[0].item() * cfg.step <= 0.015 + 1e-6
    assert a[1:].abs().max().item() < 1e-6


def test_a_push_holds_its_height_from_where_the_hand_is_going():
    """Pushing 1.5 cm below the cube's centre with 2 cm of rise still in flight: no more rise is
    commanded (full gain on the measured height bounced the fingers over the cube at 3 periods)."""
    layout = ObsLayout(history=20, history_len=4, action_dim=3)
    cfg = PriorConfig(kind="push", gain=0.5, lead=0.5)
    obj, goal = [0.5, 0.0, 0.02], torch.tensor([[0.7, 0.0, 0.02]])

    def push_z(rise_per_action: float) -> float:
        o = torch.zeros(1, 32)
        o[0, 0:3] = torch.tensor([0.5 - 0.032, 0.0, 0.005])  # fingers at the back face, low
        o[0, 7:10] = torch.tensor(obj)
        o[0, 20:32] = torch.tensor([[0.5, 0.0, rise_per_action]] * 4).reshape(-1)
        return prior_action(o, goal, layout, cfg, 3)[0, 2].item()

    assert push_z(0.0) > 0.0  # nothing in flight: it rises towards the cube's centre
    in_flight = 0.02 / (cfg.lead * cfg.step * 4)  # per-action rise that puts 2 cm in flight
    assert push_z(in_flight) <= 1e-6


def test_a_push_steers_back_onto_its_line_from_where_the_hand_is_going():
    """Pushing 1.5 cm beside the line with that much correction already in flight: no more is
    commanded sideways (full gain from the measured hand swung the fingers off the cube under
    delay); with the old steering it is commanded again."""
    layout = ObsLayout(history=20, history_len=4, action_dim=3)
    obj, goal = [0.5, 0.0, 0.02], torch.tensor([[0.7, 0.0, 0.02]])
    cfg = PriorConfig(kind="push", gain=0.5, lead=0.5, steer_from_hand=True)
    o = torch.zeros(1, 32)
    o[0, 0:3] = torch.tensor([0.5 - 0.032, 0.015, 0.02])  # at the back face, 1.5 cm to the side
    o[0, 7:10] = torch.tensor(obj)
    back = -0.015 / (cfg.lead * cfg.step * 4)  # per-action sideways motion that puts 1.5 cm in flight
    o[0, 20:32] = torch.tensor([[0.5, back, 0.0]] * 4).reshape(-1)
    steered = prior_action(o, goal, layout, cfg, 3)[0]
    assert steered[0] > 0.0 and abs(steered[1].item()) < 1e-6
    old = prior_action(o, goal, layout, cfg.model_copy(update={"steer_from_hand": False}), 3)[0]
    assert old[1].item() * cfg.step < -0.01  # the full 1.5 cm again, though it is already under way


def test_the_descent_waits_until_the_hand_is_over_the_cube_now_and_where_it_is_going():
    cfg = PriorConfig(kind="pick_place", gain=0.5, lead=0.5)
    obj, goal = [0.5, 0.0, 0.02], torch.tensor([[0.4, 0.1, 0.02]])
    # The hand is 5 cm short in x at travel height, with 5 cm in flight towards the cube.
    past = [[0.5, 0.0, 0.0, 1.0]] * 4
    a = prior_action(_obs([0.45, 0.0, 0.07], obj, past=past), goal, HIST, cfg, 4)[0]
    assert a[2] >= -1e-6  # not lowering beside the cube


@pytest.mark.parametrize("skill", ["push", "pick_place"])
def test_the_shipped_prior_settings_tolerate_three_periods_of_delay_and_the_clean_prior_does_not(skill):
    """Real physics, the default randomisation with the delay fixed at 3 periods (120 ms)."""
    from omegaconf import OmegaConf

    from embodied.learning.catalogue import prior_layout, skill_config
    from embodied.learning.envs import make_env

    base = OmegaConf.to_container(OmegaConf.load("configs/randomization/default.yaml"))
    rand = {**base, "delay": [3, 3]}

    def wins(cfg, episodes: int = 10) -> int:
        env = make_env(cfg, randomization=rand)
        return prior_wins(env, ObsLayout(**prior_layout(cfg)), PriorConfig(**cfg.prior), episodes, 900)

    shipped = skill_config(skill)
    clean = OmegaConf.merge(shipped, {"task": {"action_history": 0}, "prior": {"gain": 1.0, "lead": 0.0}})
    assert shipped.task.max_episode_steps == clean.task.max_episode_steps  # the same time for both
    assert wins(shipped) >= 7
    assert wins(clean) <= 3


def test_make_env_truncates_at_the_skills_own_episode_length():
    from embodied.learning.envs import make_env

    env = make_env({"name": "reach", "env_id": "embodied/Reach-v0", "task": {"max_episode_steps": 7}})
    env.reset(seed=0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(np.zeros(3))
        done = terminated or truncated
        steps += 1
    env.close()
    assert steps == 7 and truncated
