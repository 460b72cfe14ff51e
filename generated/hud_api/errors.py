# generated from openapi.yaml by codegen.sh — do not edit
"""Contains shared errors types that can be raised from API functions"""

from typing import TYPE_CHECKING, NoReturn

import httpx

if TYPE_CHECKING:
    from .client import AuthenticatedClient, Client


class UnexpectedStatus(Exception):
    """Raised by api functions when the answer is not a success and the client has no `raise_for_status`

    Also raised by the `*_detailed` functions for an undocumented status code when
    Client.raise_on_unexpected_status is True.
    """

    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content

        super().__init__(
            f"Unexpected status code: {status_code}\n\nResponse content:\n{content.decode(errors='ignore')}"
        )


def raise_for_status(client: "AuthenticatedClient | Client", operation: str, response: httpx.Response) -> NoReturn:
    """Raise the error for an answer of `operation` that is not a success.

    The client's `raise_for_status` chooses the error (`hud.client()` sets it to raise `hud.errors`);
    without one, `UnexpectedStatus`.
    """
    if client.raise_for_status is not None:
        client.raise_for_status(operation, response)
    raise UnexpectedStatus(response.status_code, response.content)


__all__ = ["UnexpectedStatus", "raise_for_status"]
