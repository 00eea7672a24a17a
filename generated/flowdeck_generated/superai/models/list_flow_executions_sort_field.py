from typing import Literal

ListFlowExecutionsSortField = Literal["created_at", "updated_at"]

LIST_FLOW_EXECUTIONS_SORT_FIELD_VALUES: set[ListFlowExecutionsSortField] = {
    "created_at",
    "updated_at",
}


def check_list_flow_executions_sort_field(value: str) -> ListFlowExecutionsSortField:
    if value in LIST_FLOW_EXECUTIONS_SORT_FIELD_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {LIST_FLOW_EXECUTIONS_SORT_FIELD_VALUES!r}"
    )
