"""A stateful Kubernetes API server emulator (in memory, over real HTTP); see ``emulator.py``."""

from .emulator import KubernetesEmulator
from .errors import ApiError

__all__ = ["ApiError", "KubernetesEmulator"]
