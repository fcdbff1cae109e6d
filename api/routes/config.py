from fastapi import APIRouter

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.routing import ConfigVersionRef, RoutingConfig, RoutingConfigIn
from services.config_views import ConfigKind, config_view, write_config

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=ERROR_RESPONSES)


@router.get("/routing", response_model=RoutingConfig)
def get_routing(session: SessionDep, _: CurrentUser) -> RoutingConfig:
    """The routing matrix in force: signal family × severity → owner roles, SLA, escalation ladder."""
    return config_view(session, ConfigKind.routing)


@router.put("/routing", response_model=ConfigVersionRef)
def put_routing(body: RoutingConfigIn, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
    """Write a new version. Running signals keep the version they started with."""
    return write_config(session, ConfigKind.routing, body, editor.id)


@router.get("/routing/{version}", response_model=RoutingConfig)
def get_routing_version(version: ConfigVersion, session: SessionDep, _: CurrentUser) -> RoutingConfig:
    return config_view(session, ConfigKind.routing, version)
