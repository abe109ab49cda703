"""Every route of `/api/v1`, once: the server registers this table and the OpenAPI document is written from it."""

from __future__ import annotations

from bot.config_io.model import ConfigFile
from bot.domain.api import Scope
from bot.http import api_admin as admin
from bot.http import api_incidents as incidents
from bot.http import api_oncall as oncall
from bot.http.api_models import (
    ApplyQuery,
    ConfigApplied,
    Declare,
    IncidentDetail,
    IncidentNumber,
    IncidentOut,
    IncidentPage,
    IncidentQuery,
    MaintenanceIn,
    MaintenanceOut,
    Nothing,
    OnCallOut,
    OnCallQuery,
    OverrideIn,
    OverrideOut,
    PriorityChange,
    Resolve,
    RotationDetail,
    RotationList,
    RotationName,
    StatusChange,
    TimeOffIn,
    TimeOffOut,
    Update,
)
from bot.http.api_spec import Route

READ, WRITE, ADMIN = Scope.READ, Scope.WRITE, Scope.ADMIN


def _change(path: str, operation: str, summary: str, handler, body) -> Route:
    return Route("POST", f"/incidents/{{number}}/{path}", WRITE, operation, summary, handler, IncidentOut,
                 params=IncidentNumber, body=body, idempotent_key=True)


ROUTES: list[Route] = [
    Route("GET", "/incidents", READ, "listIncidents", "Incidents, newest first, a page at a time",
          incidents.list_incidents, IncidentPage, query=IncidentQuery),
    Route("POST", "/incidents", WRITE, "declareIncident", "Declare an incident (paged as from `/incident`)",
          incidents.declare, IncidentOut, body=Declare, status=201, also=(200,), idempotent_key=True),
    Route("GET", "/incidents/{number}", READ, "getIncident", "One incident with its responders and timeline",
          incidents.get_incident, IncidentDetail, params=IncidentNumber),
    _change("acknowledge", "acknowledgeIncident", "Acknowledge: its pages stop", incidents.acknowledge, Nothing),
    _change("updates", "postUpdate", "Post an update in its channel", incidents.post_update, Update),
    _change("status", "setStatus", "Move it along (resolve with /resolve)", incidents.set_status, StatusChange),
    _change("priority", "setPriority", "Change its priority", incidents.set_priority, PriorityChange),
    _change("resolve", "resolveIncident", "Resolve it with a summary", incidents.resolve, Resolve),
    Route("GET", "/oncall", READ, "whoIsOnCall", "Who is on call now, or at `at`, for every rotation or one",
          oncall.on_call, OnCallOut, query=OnCallQuery),
    Route("GET", "/rotations", READ, "listRotations", "Every rotation with its roster", oncall.list_rotations,
          RotationList),
    Route("GET", "/rotations/{name}", READ, "getRotation",
          "A rotation: roster, layers, escalation policies, now and the next eight shifts", oncall.get_rotation,
          RotationDetail, params=RotationName),
    Route("POST", "/rotations/{name}/overrides", ADMIN, "addOverride",
          "Someone takes a role of the rotation for a while (`rotation override`)", admin.add_override, OverrideOut,
          params=RotationName, body=OverrideIn, status=201, idempotent_key=True),
    Route("POST", "/time-off", ADMIN, "addTimeOff",
          "Someone is away: never paged, the next person stands in, covers asked for (`pto add`)", admin.add_time_off,
          TimeOffOut, body=TimeOffIn, status=201, idempotent_key=True),
    Route("POST", "/maintenance", ADMIN, "addMaintenance",
          "Keep a rotation's alerts, or those carrying labels, from paging for a while (`maintenance add`)",
          admin.add_maintenance, MaintenanceOut, body=MaintenanceIn, status=201, idempotent_key=True),
    Route("GET", "/config", ADMIN, "exportConfig", "The whole configuration (`python -m bot config export`)",
          admin.get_config, ConfigFile),
    Route("PUT", "/config", ADMIN, "applyConfig",
          "Make the configuration match the body (`python -m bot config apply`)", admin.put_config, ConfigApplied,
          query=ApplyQuery, body=ConfigFile),
]
