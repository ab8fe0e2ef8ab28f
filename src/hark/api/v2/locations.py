"""``google.cloud.location.Locations`` for v2: where a project's resources can live.

Hark runs where it is started, so every location id a client names (``global``, ``us``,
``europe-west4``...) is served, each keeping its own resources; ``ListLocations`` answers
``global``, the one Google's samples use.
"""

from __future__ import annotations

from typing import Any

from google.cloud.location import locations_pb2

from hark.resources.names import parse_parent

LISTED = ("global",)


class Locations:
    """``ListLocations`` and ``GetLocation``."""

    async def list_locations(self, request: Any) -> locations_pb2.ListLocationsResponse:
        project = _project(request.name)
        return locations_pb2.ListLocationsResponse(
            locations=[_location(f"{project}/locations/{location}") for location in LISTED]
        )

    async def get_location(self, request: Any) -> locations_pb2.Location:
        return _location(parse_parent(request.name, "name"))


def _project(name: str) -> str:
    """``projects/{project}`` from a ListLocations ``name`` (INVALID_ARGUMENT if not one)."""
    parse_parent(f"{name}/locations/global", "name")
    return name


def _location(name: str) -> locations_pb2.Location:
    location_id = name.rpartition("/")[2]
    return locations_pb2.Location(name=name, location_id=location_id, display_name=location_id)
