# generated from openapi.yaml by codegen.sh — do not edit
"""Contains all the data models used in inputs/outputs"""

from .environment import Environment
from .environment_close import EnvironmentClose
from .environment_create import EnvironmentCreate
from .error import Error
from .health import Health
from .job import Job
from .job_create import JobCreate
from .job_page import JobPage
from .job_update import JobUpdate
from .metadata_type_0 import MetadataType0
from .steps_append import StepsAppend
from .steps_appended import StepsAppended
from .trajectory import Trajectory
from .trajectory_step import TrajectoryStep
from .trajectory_step_actions_item import TrajectoryStepActionsItem
from .trajectory_summary import TrajectorySummary

__all__ = (
    "Environment",
    "EnvironmentClose",
    "EnvironmentCreate",
    "Error",
    "Health",
    "Job",
    "JobCreate",
    "JobPage",
    "JobUpdate",
    "MetadataType0",
    "StepsAppend",
    "StepsAppended",
    "Trajectory",
    "TrajectoryStep",
    "TrajectoryStepActionsItem",
    "TrajectorySummary",
)
