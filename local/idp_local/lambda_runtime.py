"""Runs a template's Lambda handlers in-process, one warm "container" per function.

Each handler file is loaded from its path under its own module name (every function has
its own `app.py`), lazily on first use and then cached, like a warm container.
Invocations of one function are serialised, as one container runs one request at a
time; Powertools resolvers keep per-request state on the module-level app.

Each function loads and runs with its own template Environment (`function_variables`) over
the runner's process environment, through `idp.config.function_environment`: `get_settings()`
inside the function sees them, another function's invocation (even a concurrent one) does not.
The runner's environment wins: what it sets (DATABASE_URL, ARGOCD_URL, KUBECONFIG, ... pointing
at local services) is the local configuration, and a template variable naming something only
AWS has is left out when the runner sets its local stand-in (LOCAL_STAND_INS). What reads
os.environ directly (Powertools' logger, boto3) sees the process's environment: the functions
share one interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from idp.config import function_environment
from idp_local.template import ACCOUNT_ID, REGION, FunctionSpec

__all__ = ["LOCAL_STAND_INS", "FunctionRuntime", "LocalLambdaContext", "function_variables", "module_name_for"]

Handler = Callable[[dict[str, Any], Any], Any]

# A template variable that names what exists only on AWS -> the variable the runner sets in its
# place. When the runner's environment has the latter, the former is left out: idp.config prefers
# a secret id to a value, and the secret (an ARN from a template parameter) is not here.
LOCAL_STAND_INS: Mapping[str, str] = {
    "DATABASE_SECRET_ID": "DATABASE_URL",
    "ARGOCD_TOKEN_SECRET_ID": "ARGOCD_TOKEN",
    "SLACK_BOT_TOKEN_SECRET_ID": "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET_ID": "SLACK_SIGNING_SECRET",
    "KUBERNETES_MODE": "KUBECONFIG",  # eks on AWS; a kubeconfig (the emulator's) here
}


def function_variables(spec: FunctionSpec, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """What the function's template Environment adds to the runner's environment `environ`."""
    return {
        name: value
        for name, value in spec.environment.items()
        if name not in environ and not (name in LOCAL_STAND_INS and LOCAL_STAND_INS[name] in environ)
    }


class LocalLambdaContext:
    """The attributes and method of the Python runtime's context object."""

    def __init__(self, spec: FunctionSpec, *, request_id: str | None = None) -> None:
        self.function_name = spec.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.logical_id}"
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.logical_id}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def module_name_for(spec: FunctionSpec) -> str:
    """A module name unique to the function, e.g. idp_fn_tenant_function_app."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", spec.logical_id).lower()
    module = spec.handler.rpartition(".")[0]
    return re.sub(r"\W", "_", f"idp_fn_{snake}_{module}")


class FunctionRuntime:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.module: ModuleType | None = None  # the handler's module, once loaded
        self._handler: Handler | None = None
        self._load_lock = threading.Lock()
        self._invoke_lock = threading.Lock()

    def handler(self) -> Handler:
        with self._load_lock:
            if self._handler is None:
                with function_environment(function_variables(self.spec)):  # module code may read settings
                    module = self.module = self._load_module()
                handler = getattr(module, self.spec.handler_function, None)
                if not callable(handler):
                    raise ImportError(f"{self.spec.handler_file} has no function {self.spec.handler_function}")
                self._handler = handler
            return self._handler

    def _load_module(self) -> ModuleType:
        path = self.spec.handler_file
        name = module_name_for(self.spec)
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path} for {self.spec.logical_id}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # pydantic and dataclasses look their module up here
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        return module

    def invoke(self, event: dict[str, Any], *, request_id: str | None = None) -> Any:
        """The handler's result; its exceptions propagate (the caller turns them into 502s)."""
        handler = self.handler()
        # Read at each invocation: tests change the process environment between requests.
        with self._invoke_lock, function_environment(function_variables(self.spec)):
            return handler(event, LocalLambdaContext(self.spec, request_id=request_id))
