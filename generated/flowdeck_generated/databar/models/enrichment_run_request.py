from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.enrichment_pagination import EnrichmentPagination
    from ..models.enrichment_run_request_params import EnrichmentRunRequestParams


T = TypeVar("T", bound="EnrichmentRunRequest")


@_attrs_define
class EnrichmentRunRequest:
    """
    Attributes:
        params (EnrichmentRunRequestParams): The enrichment's input parameters, by parameter name.
        pagination (EnrichmentPagination | Unset): For a list-style enrichment, how many pages of results to fetch.
    """

    params: EnrichmentRunRequestParams
    pagination: EnrichmentPagination | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        params = self.params.to_dict()

        pagination: dict[str, Any] | Unset = UNSET
        if not isinstance(self.pagination, Unset):
            pagination = self.pagination.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "params": params,
            }
        )
        if pagination is not UNSET:
            field_dict["pagination"] = pagination

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.enrichment_pagination import EnrichmentPagination
        from ..models.enrichment_run_request_params import EnrichmentRunRequestParams

        d = dict(src_dict)
        params = EnrichmentRunRequestParams.from_dict(d.pop("params"))

        _pagination = d.pop("pagination", UNSET)
        pagination: EnrichmentPagination | Unset
        if isinstance(_pagination, Unset):
            pagination = UNSET
        else:
            pagination = EnrichmentPagination.from_dict(_pagination)

        enrichment_run_request = cls(
            params=params,
            pagination=pagination,
        )

        enrichment_run_request.additional_properties = d
        return enrichment_run_request

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
