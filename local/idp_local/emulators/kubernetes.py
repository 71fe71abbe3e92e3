"""The Kubernetes API emulator; the implementation lives in the ``kube`` subpackage.

Run it on its own with ``python -m idp_local.emulators.kubernetes [--port N] [--token T] [--kubeconfig PATH]``.
"""

from .kube import KubernetesEmulator
from .kube.emulator import main

__all__ = ["KubernetesEmulator"]

if __name__ == "__main__":
    main()
