"""The settings of the scripted motion priors (``prior:`` in ``configs/skill/*.yaml``).

Kept apart from :mod:`embodied.learning.priors` (which needs torch) so that checking a
command's configuration does not import torch.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PriorConfig(BaseModel):
    """Gains and clearances of the scripted priors (``prior:`` in ``configs/skill/*.yaml``; metres unless stated)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    kind: Literal["none", "reach", "push", "pick_place"] = Field("none", description="none | reach | push | pick_place")
    """Which prior: "none" (pure RL), "reach", "push" or "pick_place"."""
    step: float = Field(0.05, gt=0.0, le=1.0, description="end-effector displacement of a unit action, m")
    """End-effector displacement of a unit action, m (the env's max_ee_step)."""
    gain: float = Field(1.0, gt=0.0, le=2.0, description="fraction of the remaining error corrected per step")
    """Fraction of the remaining error corrected per step (1: all of it, up to a unit action)."""
    lead: float = Field(0.0, ge=0.0, le=1.0, description="share of the past actions' motion taken as in flight")
    """Share of the motion of the past actions in the observation counted as still in flight
    (the hand is aimed from where it is going); 0 without past actions."""
    lead_reference: float | None = Field(
        None, gt=0.0, le=16.0, description="latency (periods) at which lead applies; null: lead at any latency"
    )
    """With the arm's latency L in the observation (``task.observe_latency``), the share
    credited is ``lead * L / lead_reference`` (at most 1), so it follows the arm; None (or no
    latency in the observation): ``lead`` whatever the latency."""
    regrip_tol: float = Field(0.02, gt=0.0, le=0.1, description="the grasp keeps closing within this distance, m")
    """Once closing (the last action closed the gripper), it goes on while the hand is within
    this distance of the cube; needs past actions in the observation."""
    half_size: float = Field(0.02, gt=0.0, le=0.2, description="half the cube's edge, m")
    clearance: float = Field(0.05, ge=0.0, le=0.5, description="travel height above the object's centre, m")
    """Height above the object's centre at which the gripper travels before descending."""
    push_offset: float = Field(0.045, gt=0.0, le=0.3, description="pushing starts this far behind the cube, m")
    """Distance behind the cube's centre where pushing starts (along the push direction)."""
    push_speed: float = Field(0.03, gt=0.0, le=0.2, description="largest push displacement per step, m")
    """Largest push displacement per step; slower pushes overshoot less."""
    steer_from_hand: bool = Field(False, description="steer back onto the push line from where the hand is going")
    """While pushing, correct the sideways error from where the hand is going at ``gain``
    rather than from the measured hand at full gain."""
    finger_depth: float = Field(0.012, ge=0.0, le=0.1, description="end-effector point to the pushing face, m")
    """Distance from the end-effector point to the face of the closed fingers that pushes."""
    align_tol: float = Field(0.012, gt=0.0, le=0.1, description="lateral tolerance to the push line, m")
    """Lateral tolerance to the push line, and xy tolerance of a top-down approach."""
    grasp_width: float = Field(0.045, gt=0.0, le=0.2, description="below this width a cube counts as held, m")
    """Gripper width below which a cube between the fingers counts as held."""
    turned_width: float = Field(0.065, gt=0.0, le=0.2, description="a closed grip this wide holds a turned cube, m")
    """Width up to which fingers that stayed closed for every remembered period hold a cube
    (one turned in the grasp is up to its diagonal wide); needs past actions."""
    carry_height: float = Field(0.08, ge=0.0, le=0.5, description="held cube's centre above the table, m")
    """Height above the table top of the held cube's centre while carrying."""
