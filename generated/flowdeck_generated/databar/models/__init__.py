"""Contains all the data models used in inputs/outputs"""

from .bulk_run_flow_in import BulkRunFlowIn
from .bulk_run_flow_in_inputs_item import BulkRunFlowInInputsItem
from .bulk_waterfall_request import BulkWaterfallRequest
from .bulk_waterfall_request_params_item import BulkWaterfallRequestParamsItem
from .enrichment_pagination import EnrichmentPagination
from .enrichment_run_request import EnrichmentRunRequest
from .enrichment_run_request_params import EnrichmentRunRequestParams
from .error import Error
from .flow_detail import FlowDetail
from .flow_detail_config import FlowDetailConfig
from .flow_detail_ui import FlowDetailUi
from .flow_input import FlowInput
from .flow_output import FlowOutput
from .http_validation_error import HTTPValidationError
from .inputs import Inputs
from .params import Params
from .run_flow_in import RunFlowIn
from .run_response import RunResponse
from .task import Task
from .task_progress import TaskProgress
from .user import User
from .validation_error import ValidationError
from .waterfall_request import WaterfallRequest
from .waterfall_task import WaterfallTask

__all__ = (
    "BulkRunFlowIn",
    "BulkRunFlowInInputsItem",
    "BulkWaterfallRequest",
    "BulkWaterfallRequestParamsItem",
    "EnrichmentPagination",
    "EnrichmentRunRequest",
    "EnrichmentRunRequestParams",
    "Error",
    "FlowDetail",
    "FlowDetailConfig",
    "FlowDetailUi",
    "FlowInput",
    "FlowOutput",
    "HTTPValidationError",
    "Inputs",
    "Params",
    "RunFlowIn",
    "RunResponse",
    "Task",
    "TaskProgress",
    "User",
    "ValidationError",
    "WaterfallRequest",
    "WaterfallTask",
)
