"""The audit log: every sign-in, token, role change, deploy, approval and kubeconfig issue."""
