"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .http_validation_error import HTTPValidationError
from .inputs import Inputs
from .run_result import RunResult
from .run_result_outputs import RunResultOutputs
from .validation_error import ValidationError

__all__ = (
    "Error",
    "HTTPValidationError",
    "Inputs",
    "RunResult",
    "RunResultOutputs",
    "ValidationError",
)
