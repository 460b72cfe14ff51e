# generated from openapi.yaml by codegen.sh — do not edit
from typing import Literal

ImportConflictKind = Literal["close", "environment", "job", "steps"]

IMPORT_CONFLICT_KIND_VALUES: set[ImportConflictKind] = {
    "close",
    "environment",
    "job",
    "steps",
}


def check_import_conflict_kind(value: str) -> ImportConflictKind:
    if value in IMPORT_CONFLICT_KIND_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {IMPORT_CONFLICT_KIND_VALUES!r}")
