"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .http_validation_error import HTTPValidationError
from .inputs import Inputs
from .params import Params
from .run_flow_in import RunFlowIn
from .run_response import RunResponse
from .task import Task
from .task_progress import TaskProgress
from .validation_error import ValidationError
from .waterfall_request import WaterfallRequest
from .waterfall_task import WaterfallTask

__all__ = (
    "Error",
    "HTTPValidationError",
    "Inputs",
    "Params",
    "RunFlowIn",
    "RunResponse",
    "Task",
    "TaskProgress",
    "ValidationError",
    "WaterfallRequest",
    "WaterfallTask",
)
