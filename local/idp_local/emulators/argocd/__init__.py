"""A stateful Argo CD API server emulator (in memory, over real HTTP); see ``emulator.py``."""

from .emulator import ArgoCdEmulator
from .errors import ArgoError

__all__ = ["ArgoCdEmulator", "ArgoError"]
