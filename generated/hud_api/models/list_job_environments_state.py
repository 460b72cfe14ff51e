# generated from openapi.yaml by codegen.sh — do not edit
from typing import Literal

ListJobEnvironmentsState = Literal["closed", "open"]

LIST_JOB_ENVIRONMENTS_STATE_VALUES: set[ListJobEnvironmentsState] = {
    "closed",
    "open",
}


def check_list_job_environments_state(value: str) -> ListJobEnvironmentsState:
    if value in LIST_JOB_ENVIRONMENTS_STATE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {LIST_JOB_ENVIRONMENTS_STATE_VALUES!r}")
