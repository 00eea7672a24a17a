from typing import Literal

ListFlowExecutionsSortDirection = Literal["asc", "desc"]

LIST_FLOW_EXECUTIONS_SORT_DIRECTION_VALUES: set[ListFlowExecutionsSortDirection] = {
    "asc",
    "desc",
}


def check_list_flow_executions_sort_direction(
    value: str,
) -> ListFlowExecutionsSortDirection:
    if value in LIST_FLOW_EXECUTIONS_SORT_DIRECTION_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_FLOW_EXECUTIONS_SORT_DIRECTION_VALUES!r}"
    )
