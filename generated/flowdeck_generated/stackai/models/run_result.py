from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.run_result_outputs import RunResultOutputs


T = TypeVar("T", bound="RunResult")


@_attrs_define
class RunResult:
    """Result of a synchronous run. Outputs are keyed by output node id (out-0, out-1, ...). `error` not null means the run
    failed even though the status is 200.

        Attributes:
            outputs (RunResultOutputs):
            run_id (None | str | Unset):
            state (None | str | Unset):
            error (Any | Unset): null on success; its shape is undocumented.
            citations (Any | Unset): Undocumented.
            metadata (Any | Unset): Undocumented.
            progress_data (Any | Unset): Undocumented outside streaming.
            pause (Any | Unset): Undocumented; never seen non-null.
    """

    outputs: RunResultOutputs
    run_id: None | str | Unset = UNSET
    state: None | str | Unset = UNSET
    error: Any | Unset = UNSET
    citations: Any | Unset = UNSET
    metadata: Any | Unset = UNSET
    progress_data: Any | Unset = UNSET
    pause: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        outputs = self.outputs.to_dict()

        run_id: None | str | Unset
        if isinstance(self.run_id, Unset):
            run_id = UNSET
        else:
            run_id = self.run_id

        state: None | str | Unset
        if isinstance(self.state, Unset):
            state = UNSET
        else:
            state = self.state

        error = self.error

        citations = self.citations

        metadata = self.metadata

        progress_data = self.progress_data

        pause = self.pause

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "outputs": outputs,
            }
        )
        if run_id is not UNSET:
            field_dict["run_id"] = run_id
        if state is not UNSET:
            field_dict["state"] = state
        if error is not UNSET:
            field_dict["error"] = error
        if citations is not UNSET:
            field_dict["citations"] = citations
        if metadata is not UNSET:
            field_dict["metadata"] = metadata
        if progress_data is not UNSET:
            field_dict["progress_data"] = progress_data
        if pause is not UNSET:
            field_dict["pause"] = pause

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.run_result_outputs import RunResultOutputs

        d = dict(src_dict)
        outputs = RunResultOutputs.from_dict(d.pop("outputs"))

        def _parse_run_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        run_id = _parse_run_id(d.pop("run_id", UNSET))

        def _parse_state(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        state = _parse_state(d.pop("state", UNSET))

        error = d.pop("error", UNSET)

        citations = d.pop("citations", UNSET)

        metadata = d.pop("metadata", UNSET)

        progress_data = d.pop("progress_data", UNSET)

        pause = d.pop("pause", UNSET)

        run_result = cls(
            outputs=outputs,
            run_id=run_id,
            state=state,
            error=error,
            citations=citations,
            metadata=metadata,
            progress_data=progress_data,
            pause=pause,
        )

        run_result.additional_properties = d
        return run_result

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
