from fastapi import APIRouter

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from core import config_store
from core.errors import PillarError
from models.routing import ConfigVersionRef, RoutingConfig, RoutingConfigIn

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=ERROR_RESPONSES)


def routing_out(row) -> RoutingConfig:
    return RoutingConfig.model_validate({**row.body, "version": row.version, "created_at": row.created_at, "created_by": row.created_by})


@router.get("/routing", response_model=RoutingConfig)
def get_routing(session: SessionDep, _: CurrentUser) -> RoutingConfig:
    """The routing matrix in force: signal family × severity → owner roles, SLA, escalation ladder."""
    row = config_store.latest(session, config_store.ROUTING)
    if row is None:
        raise PillarError("not_found", "no routing matrix has been configured yet")
    return routing_out(row)


@router.put("/routing", response_model=ConfigVersionRef)
def put_routing(body: RoutingConfigIn, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
    """Write a new version. Running signals keep the version they started with."""
    row = config_store.append(session, config_store.ROUTING, body.model_dump(mode="json"), created_by=editor.id)
    return ConfigVersionRef(version=row.version)


@router.get("/routing/{version}", response_model=RoutingConfig)
def get_routing_version(version: ConfigVersion, session: SessionDep, _: CurrentUser) -> RoutingConfig:
    row = config_store.get(session, config_store.ROUTING, version)
    if row is None:
        raise PillarError("not_found", f"no routing version {version}")
    return routing_out(row)
