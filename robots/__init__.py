"""Robots: one hardware-neutral ``Robot`` interface, robot descriptions, and the simulated arm.

Nothing here imports a simulator or another package of this project.
"""

from robots.description import RobotDescription, available_descriptions, load_description
from robots.robot import Robot, RobotAction, RobotObservation

__all__ = ["Robot", "RobotAction", "RobotDescription", "RobotObservation", "available_descriptions", "load_description"]
