"""Simulated Automation Anywhere A360 Control Room (A360_API §8)."""

from .generate import API_KEY, API_PASSWORD, API_USER_ID, API_USERNAME, generate_state
from .simulator import ControlRoomSimulator

__all__ = ["API_KEY", "API_PASSWORD", "API_USERNAME", "API_USER_ID", "ControlRoomSimulator", "generate_state"]
