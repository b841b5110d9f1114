"""Derivation Lab's Python client: `from derivlab.client import Client`."""
