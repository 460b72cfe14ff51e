# generated from openapi.yaml by codegen.sh — do not edit
"""Contains all the data models used in inputs/outputs"""

from .environment import Environment
from .environment_close import EnvironmentClose
from .environment_create import EnvironmentCreate
from .environment_info import EnvironmentInfo
from .environment_info_state import EnvironmentInfoState
from .environment_page import EnvironmentPage
from .error import Error
from .error_kind import ErrorKind
from .health import Health
from .import_batch import ImportBatch
from .import_close import ImportClose
from .import_conflict import ImportConflict
from .import_conflict_kind import ImportConflictKind
from .import_counts import ImportCounts
from .import_environment import ImportEnvironment
from .import_job import ImportJob
from .import_result import ImportResult
from .import_steps import ImportSteps
from .job import Job
from .job_create import JobCreate
from .job_page import JobPage
from .job_summary import JobSummary
from .job_summary_by_error_kind import JobSummaryByErrorKind
from .job_summary_by_outcome import JobSummaryByOutcome
from .job_update import JobUpdate
from .job_update_metadata_merge import JobUpdateMetadataMerge
from .list_job_environments_state import ListJobEnvironmentsState
from .metadata_type_0 import MetadataType0
from .step_page import StepPage
from .steps_append import StepsAppend
from .steps_appended import StepsAppended
from .task_page import TaskPage
from .task_stats import TaskStats
from .trajectory import Trajectory
from .trajectory_step import TrajectoryStep
from .trajectory_step_actions_item import TrajectoryStepActionsItem
from .trajectory_summary import TrajectorySummary

__all__ = (
    "Environment",
    "EnvironmentClose",
    "EnvironmentCreate",
    "EnvironmentInfo",
    "EnvironmentInfoState",
    "EnvironmentPage",
    "Error",
    "ErrorKind",
    "Health",
    "ImportBatch",
    "ImportClose",
    "ImportConflict",
    "ImportConflictKind",
    "ImportCounts",
    "ImportEnvironment",
    "ImportJob",
    "ImportResult",
    "ImportSteps",
    "Job",
    "JobCreate",
    "JobPage",
    "JobSummary",
    "JobSummaryByErrorKind",
    "JobSummaryByOutcome",
    "JobUpdate",
    "JobUpdateMetadataMerge",
    "ListJobEnvironmentsState",
    "MetadataType0",
    "StepPage",
    "StepsAppend",
    "StepsAppended",
    "TaskPage",
    "TaskStats",
    "Trajectory",
    "TrajectoryStep",
    "TrajectoryStepActionsItem",
    "TrajectorySummary",
)
