"""Runs a template's Lambda handlers in-process, one warm "container" per function.

Each handler file is loaded from its path under its own module name (every function has
its own `app.py`), lazily on first use and then cached, like a warm container.
Invocations of one function are serialised, as one container runs one request at a
time; Powertools resolvers keep per-request state on the module-level app.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from types import ModuleType
from typing import Any

from idp_local.template import ACCOUNT_ID, REGION, FunctionSpec

__all__ = ["FunctionRuntime", "LocalLambdaContext", "module_name_for"]

Handler = Callable[[dict[str, Any], Any], Any]


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
        with self._invoke_lock:
            return handler(event, LocalLambdaContext(self.spec, request_id=request_id))
