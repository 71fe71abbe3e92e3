"""Service accounts: machine tokens for CI and the CLI, one tenant and one role each."""
