"""Settings of perception and object tracking (the ``perception`` config group)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

TRACKING = ("sim", "camera")
"""Where a running skill reads the pose of the object it moves: ``sim`` (the simulator's
ground truth, as from a perfect tracker) or ``camera`` (tracked from the camera's frames)."""


class PerceptionConfig(BaseModel):
    """How objects are found in an RGB-D frame, and how they are tracked while a skill runs."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    tracking: Literal["sim", "camera"] = Field(
        "sim", description="object poses during skills: sim (ground truth) | camera (tracked from frames)"
    )
    min_height: float = Field(0.008, gt=0.0, le=0.2, description="points this far above the table are objects, m")
    min_saturation: float = Field(0.3, ge=0.0, le=1.0, description="less saturated pixels are not objects (arm)")
    min_value: float = Field(0.12, ge=0.0, le=1.0, description="darker pixels are not objects (shadows)")
    min_pixels: StrictInt = Field(6, ge=1, le=100_000, description="fewer pixels are noise, not an object")
    plane_tolerance: float = Field(0.005, gt=0.0, le=0.1, description="RANSAC inlier distance to the table plane, m")
    plane_iterations: StrictInt = Field(64, ge=1, le=10_000, description="RANSAC hypotheses for the table plane")
    top_face_tolerance: float = Field(0.004, gt=0.0, le=0.05, description="least depth of an object's top face, m")
    table_margin: float = Field(0.02, ge=0.0, le=0.5, description="objects may overhang the table by this much, m")
    hold_distance: float = Field(
        0.03, gt=0.0, le=0.2, description="tracking: an object this close to the closed gripper moves with it, m"
    )
    contact_distance: float = Field(
        0.03, gt=0.0, le=0.2, description="tracking: the gripper this close at the object's height pushes it, m"
    )
    slide_friction: float = Field(
        0.8, ge=0.0, le=5.0, description="tracking: a pushed object slides to a stop at this times g (friction)"
    )
    match_distance: float = Field(
        0.06, gt=0.0, le=0.5, description="tracking: a detection this close to the prediction is the object, m"
    )
    hidden_fit: bool = Field(
        True, description="fit a cube to an object something higher borders (arm, cube on top), not its centroid"
    )
    hidden_fit_step: float = Field(0.002, gt=0.0, le=0.02, description="grid step of a hidden cube's centre, m")
    hidden_fit_angles: StrictInt = Field(9, ge=1, le=90, description="yaws tried for a hidden cube (a quarter turn)")
    hidden_fit_depth_tolerance: float = Field(
        0.005, gt=0.0, le=0.1, description="a cube's surface is contradicted when seen this much farther, m"
    )
    hidden_fit_point_margin: float = Field(
        0.003, ge=0.0, le=0.05, description="an object's point may be this far outside a fitted cube, m"
    )
    hidden_fit_slack: float = Field(
        0.02, ge=0.0, le=1.0, description="cube poses within this share of points of the best one are kept"
    )
