# generated from openapi.yaml by codegen.sh — do not edit
"""A client library for accessing HUD Jobs API"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
