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

    Our envs: end effector at 0, gripper width at 6, object at 7. panda-gym's PandaPush has
    no width (object at 6), PandaPickAndPlace has width at 6 and object at 7.
    """

    ee: int = 0
    """Index of the end-effector position (3)."""
    width: int | None = 6
    """Index of the gripper width (1), m; None when the env has none."""
    obj: int | None = 7
    """Index of the object position (3); None when there is no object."""
    table_z: float = 0.0
    """Height of the table top in the world frame, m."""


def _to_action(delta: torch.Tensor, cfg: PriorConfig) -> torch.Tensor:
    # Scale the whole vector rather than clipping each axis: per-axis clipping bends the path
    # (the height converges first and the gripper then sweeps low across the table).
    a = delta * cfg.gain / cfg.step
    return a / a.abs().amax(dim=-1, keepdim=True).clamp_min(1.0)


def _select(cond: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(cond.unsqueeze(-1), a, b)


def reach_prior(obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Straight to the goal: (B, n), (B, 3) -> (B, 3)."""
    ee = obs[:, layout.ee : layout.ee + 3]
    return _to_action(goal - ee, cfg)


def push_prior(obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Get behind the cube (over it, never through it), lower, then push it along the line to the goal.

    (B, n), (B, 3) -> (B, 3).
    """
    ee = obs[:, layout.ee : layout.ee + 3]
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
    advance = torch.minimum(dist, torch.full_like(dist, cfg.push_speed))
    push_xy = obj[:, :2] - u * (cfg.half_size + cfg.finger_depth) + u * advance
    push_target = torch.cat([push_xy, low_z], -1)
    # Repositioning: descend when over the start point, travel high, or rise first when low.
    over_start = (ee[:, :2] - behind).norm(dim=-1) < cfg.align_tol
    high_enough = ee[:, 2] > obj[:, 2] + cfg.clearance - 0.015
    descend = torch.cat([behind, low_z], -1)
    travel = torch.cat([behind, high_z], -1)
    rise = torch.cat([ee[:, :2], high_z], -1)
    reposition = _select(over_start, descend, _select(high_enough, travel, rise))
    target = _select(pushing, push_target, reposition)
    done = dist[:, 0] < 0.01
    target = _select(done, ee, target)
    return _to_action(target - ee, cfg)


def pick_place_prior(obs: torch.Tensor, goal: torch.Tensor, layout: ObsLayout, cfg: PriorConfig) -> torch.Tensor:
    """Top-down grasp, carry at a safe height, lower onto the goal: (B, n), (B, 3) -> (B, 4)."""
    ee = obs[:, layout.ee : layout.ee + 3]
    obj = obs[:, layout.obj : layout.obj + 3]
    width = obs[:, layout.width]
    at_obj = (ee - obj).norm(dim=-1)
    held = (at_obj < 0.02) & (width < cfg.grasp_width)
    closing = (at_obj < 0.012) & ~held

    # Carry: lift to the carry height, travel, then lower onto the goal (keep the grasp offset).
    offset = ee - obj
    carry_z = torch.maximum(goal[:, 2], torch.full_like(goal[:, 2], layout.table_z + cfg.carry_height))
    over_goal = (obj[:, :2] - goal[:, :2]).norm(dim=-1) < 0.015
    lifted = obj[:, 2] > carry_z - 0.02
    carry = torch.cat([goal[:, :2], carry_z.unsqueeze(-1)], -1)
    lift = torch.cat([obj[:, :2], carry_z.unsqueeze(-1)], -1)
    held_target = _select(over_goal, goal, _select(lifted, carry, lift)) + offset
    # Approach: travel over the cube, then descend with the gripper open.
    # A funnel rather than a switch: the allowed height shrinks with the xy error, so the lag
    # of a fast descent never flips the target back up (a switch oscillated here).
    xy_err = (ee[:, :2] - obj[:, :2]).norm(dim=-1)
    funnel = torch.clamp(xy_err / cfg.align_tol - 1.0, 0.0, 1.0)
    approach_target = torch.cat([obj[:, :2], (obj[:, 2] + cfg.clearance * funnel).unsqueeze(-1)], -1)
    target = _select(held | closing, _select(held, held_target, ee), approach_target)
    grip = torch.where(held | closing, -1.0, 1.0).to(obs.dtype).unsqueeze(-1)
    return torch.cat([_to_action(target - ee, cfg), grip], -1)


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
