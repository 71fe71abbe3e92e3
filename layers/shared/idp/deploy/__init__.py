"""Applications in Argo CD, deployments with approvals and rollbacks, and their Slack outbox.

Modules: `models` (pydantic boundaries), `argocd_objects` (the Argo CD objects we own),
`apps` (application rows and flows), `service` (deployment and policy rows), `outbox` (the
Slack outbox rows), `policy` (the approval policy), `flows` (requests, rollbacks, reads),
`approvals` (decisions and the approval policy), `tracking` (starting and following syncs;
the poller), `notifications` (Slack delivery), `views` (HTTP).
Nothing is imported here, so importing one module never loads the others.
"""
