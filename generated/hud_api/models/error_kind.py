# generated from openapi.yaml by codegen.sh — do not edit
from typing import Literal

ErrorKind = Literal["agent", "cancelled", "crashed", "infrastructure", "timeout"]

ERROR_KIND_VALUES: set[ErrorKind] = {
    "agent",
    "cancelled",
    "crashed",
    "infrastructure",
    "timeout",
}


def check_error_kind(value: str) -> ErrorKind:
    if value in ERROR_KIND_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ERROR_KIND_VALUES!r}")
