from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.params import Params


T = TypeVar("T", bound="WaterfallRequest")


@_attrs_define
class WaterfallRequest:
    """
    Attributes:
        params (Params):
        enrichments (list[int] | Unset): Select at least 1 enrichment
        email_verifier (int | None | Unset):
    """

    params: Params
    enrichments: list[int] | Unset = UNSET
    email_verifier: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        params = self.params.to_dict()

        enrichments: list[int] | Unset = UNSET
        if not isinstance(self.enrichments, Unset):
            enrichments = self.enrichments

        email_verifier: int | None | Unset
        if isinstance(self.email_verifier, Unset):
            email_verifier = UNSET
        else:
            email_verifier = self.email_verifier

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "params": params,
            }
        )
        if enrichments is not UNSET:
            field_dict["enrichments"] = enrichments
        if email_verifier is not UNSET:
            field_dict["email_verifier"] = email_verifier

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.params import Params

        d = dict(src_dict)
        params = Params.from_dict(d.pop("params"))

        enrichments = cast(list[int], d.pop("enrichments", UNSET))

        def _parse_email_verifier(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        email_verifier = _parse_email_verifier(d.pop("email_verifier", UNSET))

        waterfall_request = cls(
            params=params,
            enrichments=enrichments,
            email_verifier=email_verifier,
        )

        waterfall_request.additional_properties = d
        return waterfall_request

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
