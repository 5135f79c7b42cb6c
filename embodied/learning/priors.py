"""Scripted motion priors: stateless, batched controllers that the learned skills refine.

A prior maps an observation and a goal to an action, with no memory, so it can be evaluated
inside the policy network on any batch the replay buffer returns (HER-relabelled goals
included). The learned policy adds its own output to the prior's in pre-squash space (see
``embodied.learning.policies``), so training starts from the prior's behaviour instead of from noise.

All inputs are raw observations (metres, world frame); actions are in the env's [-1, 1]
units: end-effector displacement divided by ``step`` (5 cm), then a gripper command
(-1 closed, +1 open) for tasks that use the gripper.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from embodied.learning.prior_config import PriorConfig


@dataclass(frozen=True)
class ObsLayout:
    """Where the prior finds things in the flat ``observation`` vector.

    Our envs: end effector at 0, gripper width at 6, object at 7, the past actions (if any)
    last. panda-gym's PandaPush has no width (object at 6), PandaPickAndPlace has width at 6
    and object at 7.
    """

    ee: int = 0
    """Index of the end-effector position (3)."""
    width: int | None = 6
    """Index of the gripper width (1), m; None when the env has none."""
    obj: int | None = 7
    """Index of the object position (3); None when there is no object."""
    table_z: float = 0.0
    """Height of the table top in the world frame, m."""
    history: int | None = None
    """Index of the past actions (``history_len`` x ``action_dim``, newest first); None without."""
    history_len: int = 0
    """How many past actions the observation carries."""
    action_dim: int = 3
    """Components of one past action (3, or 4 with the gripper)."""
    latency: int | None = None
    """Index of the arm's latency (1, control periods); None when the observation has none."""


def _past(obs: torch.Tensor, layout: ObsLayout) -> torch.Tensor | None:
    """The past actions, (B, k, action_dim) newest first, or None when the observation has none."""
    if layout.history is None or layout.history_len == 0:
        return None
    flat = obs[:, layout.history : layout.history + layout.history_len * layout.action_dim]
    return flat.reshape(-1, layout.history_len, layout.action_dim)


def _in_flight(obs: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Where the hand is still going: ``lead`` times the motion of the recent actions, (B, 3) m.

    Under an actuation delay the measured hand lags the commands; the actions the arm has not
    executed yet are among the last ones sent. A fraction ``lead`` of their sum is credited:
    all of it (a Smith predictor) makes a short delay oscillate, none makes a long one
    overshoot. When the observation carries the arm's latency L (periods) and
    ``lead_reference`` is set, the fraction is ``lead * L / lead_reference`` (at most 1):
    nothing in flight on an arm without latency, more on a slower one.
    """
    past = _past(obs, layout)
    if past is None or cfg.lead == 0:
        return torch.zeros_like(obs[:, :3])
    lead: torch.Tensor | float = cfg.lead
    if layout.latency is not None and cfg.lead_reference is not None:
        lead = (cfg.lead * obs[:, layout.latency : layout.latency + 1] / cfg.lead_reference).clamp(0.0, 1.0)
    return lead * cfg.step * past[:, :, :3].sum(1)


def _to_action(delta: torch.Tensor, cfg: PriorConfig) -> torch.Tensor:
    # Scale the whole vector rather than clipping each axis: per-axis clipping bends the path
    # (the height converges first and the gripper then sweeps low across the table).
    a = delta * cfg.gain / cfg.step
    return a / a.abs().amax(dim=-1, keepdim=True).clamp_min(1.0)


def _select(cond: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(cond.unsqueeze(-1), a, b)


def _funnel(xy_err: torch.Tensor, tol: float) -> torch.Tensor:
    """0 within ``tol`` of the xy target, rising to 1 at twice that: the share of the travel
    height still allowed. A funnel rather than a switch: the lag of a descent never flips the
    target back up."""
    return torch.clamp(xy_err / tol - 1.0, 0.0, 1.0)


def _xy_error(ee: torch.Tensor, hand: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """How far from the xy ``target`` (B, 2) the hand is, now or where it is going, whichever
    is farther: (B,) m. Descending waits for both, so motion still in flight never lowers the
    hand beside the cube."""
    return torch.maximum((ee[:, :2] - target).norm(dim=-1), (hand[:, :2] - target).norm(dim=-1))


def _segment_distance(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance from points ``p`` to the segments ``a``-``b``, all (B, 2): (B,)."""
    ab = b - a
    t = (((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-9)).clamp(0.0, 1.0)
    return (a + t.unsqueeze(-1) * ab - p).norm(dim=-1)


def reach_prior(obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Straight to the goal: (B, n), (B, 3) -> (B, 3)."""
    hand = obs[:, layout.ee : layout.ee + 3] + _in_flight(obs, layout, cfg)
    return _to_action(goal - hand, cfg)


def push_prior(obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Get behind the cube (over it, never through it), lower, then push it along the line to the goal.

    (B, n), (B, 3) -> (B, 3). Motion is aimed from where the hand is going (the measured hand
    plus what is in flight); whether the hand is pushing is judged on the measured hand,
    which is what touches the cube.
    """
    ee = obs[:, layout.ee : layout.ee + 3]
    hand = ee + _in_flight(obs, layout, cfg)
    obj = obs[:, layout.obj : layout.obj + 3]
    d = goal[:, :2] - obj[:, :2]
    dist = d.norm(dim=-1, keepdim=True)
    u = d / dist.clamp_min(1e-6)
    rel = ee[:, :2] - obj[:, :2]
    along = (rel * u).sum(-1)
    perp = rel - along.unsqueeze(-1) * u
    low_z = obj[:, 2:3]
    high_z = obj[:, 2:3] + cfg.clearance
    behind = obj[:, :2] - u * cfg.push_offset

    # Pushing: behind the cube, on the line, low. Advance along the line and pull back onto it.
    # The tolerance is wider than the approach's: once in contact a small drift is corrected
    # by aiming at the point behind the cube's current centre rather than by starting over.
    pushing = (along < -cfg.half_size) & (perp.norm(dim=-1) < cfg.half_size) & (ee[:, 2] < low_z[:, 0] + 0.015)
    # Near the goal the push slows so that what is still in flight does not carry the cube past it.
    coming = (_in_flight(obs, layout, cfg)[:, :2] * u).sum(-1, keepdim=True).clamp_min(0.0)
    advance = torch.clamp(dist - coming, min=torch.zeros_like(dist), max=torch.full_like(dist, cfg.push_speed))
    push_xy = obj[:, :2] - u * (cfg.half_size + cfg.finger_depth) + u * advance
    push_target = torch.cat([push_xy, low_z], -1)
    # Repositioning: towards the start point behind the cube, lowering through a funnel as the
    # hand closes in; straight up first when the way there at the hand's height crosses the cube.
    funnel = _funnel(_xy_error(ee, hand, behind), cfg.align_tol)
    start = torch.cat([behind, low_z + cfg.clearance * funnel.unsqueeze(-1)], -1)
    in_the_way = _segment_distance(obj[:, :2], hand[:, :2], behind) < cfg.half_size + cfg.finger_depth
    low = ee[:, 2] < obj[:, 2] + cfg.half_size + cfg.finger_depth
    rise = torch.cat([ee[:, :2], high_z], -1)
    # Over the cube, travel twice as high: the descent's overshoot under delay stays above it.
    over = torch.cat([behind, obj[:, 2:3] + 2 * cfg.clearance], -1)
    reposition = _select(in_the_way, _select(low, rise, over), start)
    target = _select(pushing, push_target, reposition)
    done = dist[:, 0] < 0.01
    target = _select(done, hand, target)
    # Pushing is a velocity command (the target moves with the cube, ``push_speed`` ahead), so
    # it is aimed from the measured hand at full gain: crediting the in-flight push or a lower
    # gain would only slow it.
    # Along the line it never goes faster than ``push_speed``: when the cube slides ahead of the
    # fingers, or the hand is measured late, chasing it at full speed would strike it.
    # The height is not a velocity command: it is held like any other position, from where the
    # hand is going at the prior's gain (at full gain, three periods of delay bounce the fingers
    # over the cube and the push starts over).
    error = push_target - ee
    along_error = (error[:, :2] * u).sum(-1, keepdim=True)
    if cfg.steer_from_hand:
        # Steering back onto the line is a position, not a velocity: from where the hand is
        # going, at the prior's gain (at full gain from the measured hand, a delay of a period
        # or more swings the fingers from side to side until they lose the cube).
        to_line = push_target[:, :2] - hand[:, :2]
        lateral = cfg.gain * (to_line - (to_line * u).sum(-1, keepdim=True) * u)
        error_xy = along_error.clamp(max=cfg.push_speed) * u + lateral
    else:
        error_xy = error[:, :2] + (along_error.clamp(max=cfg.push_speed) - along_error) * u
    error_z = cfg.gain * (low_z - hand[:, 2:3])
    move = _to_action(target - hand, cfg)
    push = _to_action(torch.cat([error_xy, error_z], -1), cfg.model_copy(update={"gain": 1.0}))
    return _select(pushing & ~done, push, move)


def pick_place_prior(obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Top-down grasp, carry at a safe height, lower onto the goal: (B, n), (B, 3) -> (B, 4).

    With past actions in the observation the grasp has a memory: once the last action closed
    the gripper, it keeps closing while the cube stays between the fingers (``regrip_tol``),
    so motion still in flight when it started does not reopen it.
    """
    ee = obs[:, layout.ee : layout.ee + 3]
    hand = ee + _in_flight(obs, layout, cfg)
    obj = obs[:, layout.obj : layout.obj + 3]
    width = obs[:, layout.width]
    at_obj = (ee - obj).norm(dim=-1)
    held = (at_obj < 0.02) & (width < cfg.grasp_width)
    past = _past(obs, layout)
    if past is not None and layout.action_dim == 4:
        was_closing = (past[:, 0, 3] < 0) & (at_obj < cfg.regrip_tol)
        # Closed for every remembered period on something wider than a cube's face (a cube
        # turned in the fingers, up to its diagonal): that is a grasp too.
        squeezed = (past[:, :, 3] < 0).all(-1) & (width < cfg.turned_width) & (width > cfg.half_size)
        # Fingers closed on something for every remembered period: the cube may be measured up
        # to one period apart from the hand (a camera tracker is later than the joint states),
        # so it is still held within the distance the hand has lately moved in a period.
        skew = cfg.step * past[:, :, :3].norm(dim=-1).amax(-1)
        held = held | ((at_obj < 0.02 + skew) & squeezed)
    else:
        was_closing = torch.zeros_like(held)
    closing = ((at_obj < 0.012) | was_closing) & ~held

    # Carry: lift to the carry height, travel, then lower onto the goal (keep the grasp offset).
    offset = ee - obj
    carry_z = torch.maximum(goal[:, 2], torch.full_like(goal[:, 2], layout.table_z + cfg.carry_height))
    over_goal = (obj[:, :2] - goal[:, :2]).norm(dim=-1) < 0.015
    lifted = obj[:, 2] > carry_z - 0.02
    carry = torch.cat([goal[:, :2], carry_z.unsqueeze(-1)], -1)
    lift = torch.cat([obj[:, :2], carry_z.unsqueeze(-1)], -1)
    held_target = _select(over_goal, goal, _select(lifted, carry, lift)) + offset
    # Approach: travel over the cube, then descend with the gripper open, through a funnel.
    funnel = _funnel(_xy_error(ee, hand, obj[:, :2]), cfg.align_tol)
    approach_target = torch.cat([obj[:, :2], (obj[:, 2] + cfg.clearance * funnel).unsqueeze(-1)], -1)
    # Closing holds still where the hand is going (stopping the motion still in flight).
    target = _select(held | closing, _select(held, held_target, hand), approach_target)
    grip = torch.where(held | closing, -1.0, 1.0).to(obs.dtype).unsqueeze(-1)
    return torch.cat([_to_action(target - hand, cfg), grip], -1)


def prior_action(
    obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig, action_dim: int
) -> torch.Tensor:
    """The prior's action for a batch: (B, n), (B, 3) -> (B, action_dim); zeros for "none"."""
    if cfg.kind == "none":
        return torch.zeros(obs.shape[0], action_dim, dtype=obs.dtype, device=obs.device)
    fn = {"reach": reach_prior, "push": push_prior, "pick_place": pick_place_prior}[cfg.kind]
    action = fn(obs, goal, layout, cfg)
    if action.shape[-1] != action_dim:
        raise ValueError(f"prior {cfg.kind!r} gives {action.shape[-1]} action dims, the env expects {action_dim}")
    return action
