"""Tenants: teams with members and roles, and their Kubernetes namespaces per environment."""
