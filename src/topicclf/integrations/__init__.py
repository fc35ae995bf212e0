"""Integrations with other engines (Ray Data)."""
