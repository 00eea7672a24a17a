"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .kill_pipeline_body import KillPipelineBody
from .kill_pipeline_result import KillPipelineResult
from .pipeline_input import PipelineInput
from .pipeline_run import PipelineRun
from .pipeline_run_outputs import PipelineRunOutputs
from .start_pipeline_body import StartPipelineBody
from .start_pipeline_response_200 import StartPipelineResponse200

__all__ = (
    "Error",
    "KillPipelineBody",
    "KillPipelineResult",
    "PipelineInput",
    "PipelineRun",
    "PipelineRunOutputs",
    "StartPipelineBody",
    "StartPipelineResponse200",
)
