"""The IDP shared layer: domain logic, data access and clients used by every function."""
