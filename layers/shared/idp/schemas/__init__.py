"""The API's contract: every request and response model, per domain, shared by the functions,
the API client and its front ends (CLI, chat-ops). Models import nothing but each other and the
naming rules (`idp.kube_names`, `idp.repo_urls`), so a front end that imports them loads no domain code.

Every model derives from `Model`: pydantic builds its validator when the model is first used,
not when its module is imported (`defer_build`). A function imports every model its routes name
and its first request uses a few; building them all cost ~20-30 ms of each cold start
(bench/cold_start.py).
"""

from pydantic import BaseModel, ConfigDict

__all__ = ["Model"]


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
