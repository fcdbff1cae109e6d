"""GET/PUT the versioned config of Layers I–III: signal definitions, score weights, cost model, territory settings,
account calendars; and the team calendars SLAs count business hours on."""

from fastapi import APIRouter

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.routing import ConfigVersionRef
from services.config_views import CONFIGS, ConfigKind, config_view, write_config

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=ERROR_RESPONSES)


def _routes(kind: ConfigKind) -> None:
    _, path, model_in, model_out, _ = CONFIGS[kind]

    def read_latest(session: SessionDep, _: CurrentUser):
        return config_view(session, kind)

    def write(body: model_in, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
        return write_config(session, kind, body, editor.id)

    def read_version(version: ConfigVersion, session: SessionDep, _: CurrentUser):
        return config_view(session, kind, version)

    name = kind.value.replace("_", " ")
    router.add_api_route(f"/{path}", read_latest, methods=["GET"], response_model=model_out, summary=f"The {name} in force")
    router.add_api_route(f"/{path}", write, methods=["PUT"], response_model=ConfigVersionRef,
                         summary=f"Write a new {name} version (admin, revops)")
    router.add_api_route(f"/{path}/{{version}}", read_version, methods=["GET"], response_model=model_out,
                         summary=f"One {name} version")


for kind in (ConfigKind.signal_definitions, ConfigKind.score_weights, ConfigKind.cost_model, ConfigKind.territory,
             ConfigKind.account_calendars, ConfigKind.calendars):
    _routes(kind)
