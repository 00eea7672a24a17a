"""Contains all the data models used in inputs/outputs"""

from .anon_key import AnonKey
from .error import Error
from .error_detail import ErrorDetail
from .flow_execution import FlowExecution
from .flow_execution_create import FlowExecutionCreate
from .flow_execution_create_input import FlowExecutionCreateInput
from .flow_execution_input import FlowExecutionInput
from .get_token_grant_type import GetTokenGrantType
from .http_validation_error import HTTPValidationError
from .list_flow_executions_sort_direction import ListFlowExecutionsSortDirection
from .list_flow_executions_sort_field import ListFlowExecutionsSortField
from .task_error import TaskError
from .task_execution import TaskExecution
from .token import Token
from .token_error import TokenError
from .token_request import TokenRequest
from .validation_error import ValidationError

__all__ = (
    "AnonKey",
    "Error",
    "ErrorDetail",
    "FlowExecution",
    "FlowExecutionCreate",
    "FlowExecutionCreateInput",
    "FlowExecutionInput",
    "GetTokenGrantType",
    "HTTPValidationError",
    "ListFlowExecutionsSortDirection",
    "ListFlowExecutionsSortField",
    "TaskError",
    "TaskExecution",
    "Token",
    "TokenError",
    "TokenRequest",
    "ValidationError",
)
