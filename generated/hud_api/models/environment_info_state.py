# generated from openapi.yaml by codegen.sh — do not edit
from typing import Literal

EnvironmentInfoState = Literal["closed", "open"]

ENVIRONMENT_INFO_STATE_VALUES: set[EnvironmentInfoState] = {
    "closed",
    "open",
}


def check_environment_info_state(value: str) -> EnvironmentInfoState:
    if value in ENVIRONMENT_INFO_STATE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ENVIRONMENT_INFO_STATE_VALUES!r}")
