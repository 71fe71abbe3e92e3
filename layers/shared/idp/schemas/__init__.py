"""The API's contract: every request and response model, per domain, shared by the functions,
the API client and its front ends (CLI, chat-ops). Models import nothing but each other and the
naming rules (`idp.kube_names`, `idp.repo_urls`), so a front end that imports them loads no domain code.
"""
