"""The actuation channel (sims/actuation.py), the past actions in the skill observation, and
their parity between the training env and the executors that run skills."""

import gymnasium as gym
import numpy as np
import pytest

import sims  # noqa: F401  (registers the env ids)
from embodied.execution.skill_executors import SkillExecutor, SkillUnavailable
from embodied.learning.catalogue import skill_config
from embodied.perception.tracker import SimTracker
from sims.actuation import Actuation, ActuationDraw
from sims.observation import ActionHistory, ObservationLayout
from sims.randomization import RandomizedEnv

HOLD = np.array([0.0, 0.0, 0.0, 1.0])


def _channel(**draw) -> Actuation:
    channel = Actuation(HOLD, 0.04)
    channel.reset(HOLD, ActuationDraw(**draw), np.random.default_rng(0))
    return channel


def _ramp(n: int) -> list[np.ndarray]:
    return [np.array([0.1 * (i + 1), 0.0, 0.0, -1.0]) for i in range(n)]


@pytest.mark.parametrize("delay", [0, 1, 2, 3])
def test_delay_is_whole_control_periods(delay):
    channel = _channel(delay=delay)
    sent = _ramp(8)
    executed = [channel.send(a) for a in sent]
    for t, out in enumerate(executed):
        if t < delay:  # nothing has arrived yet: hold still, gripper as it was
            np.testing.assert_allclose(out, HOLD)
        else:
            np.testing.assert_allclose(out, sent[t - delay])


def test_lag_is_first_order_with_the_configured_time_constant():
    tau, period = 0.08, 0.04
    channel = _channel(lag=tau)
    step = np.array([1.0, 0.0, 0.0, 1.0])
    xs = [channel.send(step)[0] for _ in range(6)]
    alpha = 1.0 - np.exp(-period / tau)
    expected = [1.0 - (1.0 - alpha) ** (k + 1) for k in range(6)]
    np.testing.assert_allclose(xs, expected, rtol=1e-9)
    assert xs[0] < 0.5 < xs[-1] < 1.0


def test_jitter_makes_some_commands_late_and_a_late_one_is_replaced_by_the_newer():
    channel = _channel(delay=1, jitter=0.5)
    sent = _ramp(400)
    executed = [channel.send(a) for a in sent]
    holds = sum(1 for out in executed[1:] if np.allclose(out[:3], 0.0))
    # A late command leaves its period empty (the driver holds) about jitter/2 of the time
    # (late, and the one before it was not) ...
    assert 0.15 < holds / len(executed) < 0.35
    # ... and nothing ever runs backwards: executed commands are in the order they were sent.
    order = [round(out[0] / 0.1) for out in executed if not np.allclose(out[:3], 0.0)]
    assert order == sorted(order) and len(set(order)) == len(order)
    # Without jitter the same channel never holds after the delay.
    steady = _channel(delay=1)
    steady.send(sent[0])
    assert all(not np.allclose(steady.send(a)[:3], 0.0) for a in sent[1:50])


def test_a_plain_env_executes_every_action_in_its_own_period():
    env = gym.make("embodied/Push-v0")
    env.reset(seed=1)
    assert env.unwrapped.actuation.identity
    env.close()


def test_randomised_delay_reaches_the_arm_in_whole_periods():
    env = RandomizedEnv(
        gym.make("embodied/PickPlace-v0"),
        {"delay": [2, 2], "jitter": 0.0, "lag": [0, 0], "observation_delay": [0, 0], "action_noise": 0.0}
        | {"observation_noise": 0.0},
    )
    obs, info = env.reset(seed=3)
    assert info["randomization"]["delay"] == 2
    start = obs["observation"][2]
    heights = []
    for _ in range(4):
        obs, *_ = env.step(np.array([0.0, 0.0, 1.0, 1.0], dtype=np.float32))
        heights.append(float(obs["observation"][2] - start))
    assert abs(heights[0]) < 2e-3 and abs(heights[1]) < 2e-3, heights
    assert heights[2] > 0.01 and heights[3] > heights[2], heights
    env.close()


def test_observation_delay_shows_the_previous_state_but_the_current_past_actions():
    cfg = {"delay": [0, 0], "jitter": 0.0, "lag": [0, 0], "observation_delay": [1, 1]}
    cfg |= {"action_noise": 0.0, "observation_noise": 0.0}
    env = RandomizedEnv(gym.make("embodied/Reach-v0", task_config={"action_history": 2}), cfg)
    obs0, _ = env.reset(seed=0)
    up = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    obs1, *_ = env.step(up)
    obs2, *_ = env.step(up)
    layout = env.unwrapped.layout
    base = layout.base_size
    np.testing.assert_array_equal(obs1["observation"][:base], obs0["observation"][:base])  # a period old
    assert obs2["observation"][2] > obs1["observation"][2] + 0.01
    np.testing.assert_allclose(obs1["observation"][base:], [0, 0, 1, 0, 0, 0])  # what was sent, newest first
    np.testing.assert_allclose(obs2["observation"][base:], [0, 0, 1, 0, 0, 1])
    env.close()


def test_same_seed_same_channel():
    def run() -> np.ndarray:
        env = RandomizedEnv(gym.make("embodied/Push-v0"))
        obs, _ = env.reset(seed=11)
        for _ in range(6):
            obs, *_ = env.step(np.array([0.5, -0.2, 0.1], dtype=np.float32))
        env.close()
        return obs["observation"]

    np.testing.assert_array_equal(run(), run())


def test_history_layout_and_builder():
    layout = ObservationLayout(uses_object=True, distractors=3, action_dim=4, action_history=4)
    assert layout.size == layout.base_size + 16
    assert layout.index("past_actions") == layout.base_size
    assert layout.history_of(layout.base_size) == 0 and layout.history_of(layout.size) == 4
    history = ActionHistory(4, 4)
    history.reset([0, 0, 0, 1])
    history.push([0.5, 0, 0, -1])
    np.testing.assert_allclose(history.vector()[:8], [0.5, 0, 0, -1, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="last 4 actions"):
        from robots.robot import RobotObservation
        from sims.observation import ObjectState

        robot = RobotObservation(np.zeros(7), np.zeros(7), np.zeros(3), np.array([0, 0, 0, 1.0]), np.zeros(3), 0.08, 0)
        layout.build(robot, ObjectState.at_rest([0.5, 0, 0.02]), [])


@pytest.mark.parametrize("skill", ["push", "pick_place"])
def test_executor_and_env_build_the_same_history(skill, monkeypatch):
    """Train/run parity with past actions: the same actions sent give the same observation."""
    cfg = skill_config(skill)
    task = {**dict(cfg.task), "action_history": 3}
    env = gym.make(cfg.env_id, task_config=task)
    obs, _ = env.reset(seed=5)
    inner = env.unwrapped
    real = sims.observation_layout
    monkeypatch.setattr(
        "embodied.execution.skill_executors.observation_layout", lambda env_id, t: real(env_id, {**dict(t), **task})
    )
    executor = SkillExecutor(skill, "scripted")
    history = executor.history(inner.world)
    rng = np.random.default_rng(0)
    for _ in range(4):
        action = np.clip(rng.normal(0, 0.5, env.action_space.shape), -1, 1).astype(np.float32)
        obs, *_ = env.step(action)
        history.push(action)
        built = executor.observation(inner.world, SimTracker(inner.world, inner.task.object), history)
        np.testing.assert_allclose(built, obs["observation"], atol=1e-6)
    env.close()


def test_a_policy_with_past_actions_is_refused_without_them_by_name(monkeypatch):
    """The shipped push was trained with its last 4 actions; asking for none says so in one line."""
    real = sims.observation_layout
    monkeypatch.setattr(
        "embodied.execution.skill_executors.observation_layout",
        lambda env_id, t: real(env_id, {**dict(t), "action_history": 0}),
    )
    with pytest.raises(SkillUnavailable, match=r"its last 4 actions.*set task.action_history=4"):
        SkillExecutor("push", "learned")


def test_a_worlds_arm_behind_the_channel_moves_whole_periods_late_and_reports_late():
    from robots.robot import RobotAction
    from sims.actuation import ActuatedArm
    from sims.world import TabletopWorld

    world = TabletopWorld()
    try:
        world.reset(np.random.default_rng(0), pose="ready")
        arm = ActuatedArm(world.robot)
        world.robot = arm
        arm.restart(ActuationDraw(delay=2), observation_delay=1, observation_noise=0.0, rng=np.random.default_rng(1))
        truth = lambda: arm.robot.get_observation().ee_position.copy()  # noqa: E731
        start = truth()
        step = world.description.max_ee_step
        moved, seen = [], []
        for i in range(5):
            arm.send_action(RobotAction(ee_delta=np.array([step if i == 0 else 0.0, 0.0, 0.0])))
            moved.append(truth()[0] - start[0])
            seen.append(arm.get_observation().ee_position[0] - start[0])
        # Sent in period 0, executed in period 2 (not before), seen one period after that.
        assert max(abs(m) for m in moved[:2]) < 2e-3 and moved[2] > 0.01
        assert seen[2] < 0.01 < seen[3]
        # Joint commands (the controller's own moves) are not delayed.
        q = arm.robot.get_observation().joint_positions.copy()
        q[0] += 0.05
        arm.send_action(RobotAction(joint_positions=q))
        assert abs(arm.robot.get_observation().joint_positions[0] - q[0]) < abs(0.05) * 0.9
    finally:
        world.close()


def test_eval_randomised_draws_per_instruction_and_reports_the_delays(tmp_path):
    import json

    from embodied.common.config_loader import load_config
    from embodied.jobs.eval import evaluate

    suite = tmp_path / "suite.jsonl"
    entry = {
        "instruction": "push the green cube to the left",
        "family": "push",
        "goal": [{"object": "green_cube", "region": "left"}],
    }
    suite.write_text(json.dumps(entry) + "\n" + json.dumps({**entry, "family": "push2"}) + "\n")
    cfg = load_config("eval", [f"suite={suite}", "seeds=[0,1,2]", "chains=0", "skills=scripted", "randomize=true"])
    results = evaluate(cfg)
    assert results["randomized"] and results["runs"] == 6
    assert sum(v["runs"] for v in results["by_delay"].values()) == 6
    assert len(results["by_delay"]) >= 2  # draws differ between instructions and seeds
    again = evaluate(cfg)  # same seeds, same draws, same outcomes
    assert again["by_delay"] == results["by_delay"]


@pytest.mark.parametrize("delay", [0, 3])
def test_the_controllers_own_moves_settle_on_a_late_arm_and_full_gain_does_not(delay):
    """move_to (the rise after a placement, going home) against the arm behind the channel,
    observations a period late: a 10 cm rise must not come back down (onto the stack)."""
    from embodied.execution.scripted_motions import MotionConfig, move_to
    from robots.robot import RobotAction
    from sims.actuation import ActuatedArm
    from sims.world import TabletopWorld

    def rise(config: MotionConfig) -> tuple[bool, float, float]:
        """(reached, highest above the target, lowest below it after the highest), m."""
        world = TabletopWorld()
        try:
            world.reset(np.random.default_rng(0), pose="ready")
            arm = ActuatedArm(world.robot)
            world.robot = arm
            arm.restart(ActuationDraw(delay=delay), 1, 0.0, np.random.default_rng(1))
            target = arm.robot.get_observation().ee_position + np.array([0.0, 0.0, 0.1])
            z = []
            ok = move_to(
                arm, target, 0.08, config, on_step=lambda _: z.append(arm.robot.get_observation().ee_position[2])
            )
            for _ in range(20):  # what is still in flight when it returns
                arm.send_action(RobotAction(ee_delta=np.zeros(3), gripper_width=0.08))
                z.append(arm.robot.get_observation().ee_position[2])
            z = np.array(z) - target[2]
            return ok, float(z.max()), float(z[np.argmax(z) :].min())
        finally:
            world.close()

    ok, above, below = rise(MotionConfig(max_steps=75))
    assert ok and above < 0.02 and below > -0.01
    if delay:
        _, above, below = rise(MotionConfig(max_steps=75, gain=1.0, lead=0.0))
        assert above > 0.05 and below < -0.1  # what it used to do: back down past where it started


def test_a_randomised_scene_is_the_same_whatever_ran_before_it():
    """`Session.reset(seed, draw)` gives the same arm and cubes to the bit, fresh or after
    another draw's motion: the draw's physics (the arm's gain included) take effect before
    the arm is placed and the cubes settle, so an evaluation's run does not depend on the
    instruction evaluated before it."""
    from embodied.common.config_loader import load_config
    from embodied.execution.session import Session
    from robots.robot import RobotAction

    session = Session(load_config("run", ["seed=0", "randomize=true", "skills=scripted", "video=false"]))
    arm = session.world.robot

    def run(draw: int, direction: float) -> tuple[np.ndarray, float]:
        session.reset(0, draw)
        gain = session.world.client.gain_scale
        for _ in range(12):
            arm.send_action(RobotAction(ee_delta=np.array([0.01, direction * 0.01, -0.005]), gripper_width=0.02))
        truth = arm.robot.get_observation()  # the simulated arm itself: no delay, no noise
        cubes = session.world.scene.object_positions()
        return np.concatenate([truth.joint_positions, *(cubes[n] for n in sorted(cubes))]), gain

    try:
        first, gain = run(1, 1.0)
        _, other_gain = run(2, -1.0)
        assert other_gain != gain  # the draw in between had another actuator gain
        again, _ = run(1, 1.0)
        assert np.array_equal(first, again)
    finally:
        session.close()


def test_an_instruction_replays_to_the_bit_whatever_ran_before_it():
    """Same seed, same scene, same result, also after another instruction in the same world:
    PyBullet's cache of touching pairs outlives a state restore, and unsorted it made the
    solver's order, and so a run's outcome, depend on the run before (found in `embodied eval`)."""
    from embodied.common.config_loader import load_config
    from embodied.execution.session import Session

    session = Session(load_config("run", ["seed=2", "video=false"]))
    robot = session.world.robot
    send = robot.send_action

    def trace(instruction: str) -> np.ndarray:
        states = []

        def record(action):
            done = send(action)
            positions = session.world.scene.object_positions()
            states.append(np.concatenate([robot.get_observation().joint_positions, *positions.values()]))
            return done

        robot.send_action = record
        try:
            session.reset(2)
            session.run(instruction, None)
        finally:
            robot.send_action = send
        return np.array(states)

    try:
        first = trace("stack the cubes with red at the bottom")
        trace("put all the cubes on top of each other")
        again = trace("stack the cubes with red at the bottom")
        assert first.shape == again.shape and np.array_equal(first, again)
    finally:
        session.close()


def test_the_jobs_sort_contact_pairs_and_the_skill_envs_keep_the_physics_they_were_trained_in():
    import gymnasium as gym

    import sims  # noqa: F401 (registers the envs)
    from embodied.common.config_loader import load_config
    from embodied.execution.world_builder import build_world

    env = gym.make("embodied/Push-v0")
    world = build_world(load_config("run", ["seed=0", "video=false"]))
    try:
        assert env.unwrapped.world.client.config.sort_contact_pairs is False
        assert world.client.config.sort_contact_pairs is True
        sorted_env = gym.make("embodied/Push-v0", sim={"sort_contact_pairs": True})  # the caller decides
        assert sorted_env.unwrapped.world.client.config.sort_contact_pairs is True
        sorted_env.close()
        with pytest.raises(ValueError, match="sort_contact_pairs"):
            gym.make("embodied/Push-v0", sim={"sort_contact_pairs": "yes"})
    finally:
        env.close()
        world.close()
