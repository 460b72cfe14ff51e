"""The API's operations, as plain functions on a connection: `op(conn, account, ...) -> JSON text`.

Each runs inside a transaction that the caller opened (`hud.server._transactions`), for an account
already authenticated (`hud.server._auth`), on a request body already validated
(`hud.server._requests`). One module per resource.
"""
