from fastapi import APIRouter

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.handoffs import HandoffSpecs, HandoffSpecsIn
from models.routing import ConfigVersionRef
from services.config_views import ConfigKind, config_view, write_config

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=ERROR_RESPONSES)


@router.get("/handoffs", response_model=HandoffSpecs)
def get_handoff_specs(session: SessionDep, _: CurrentUser) -> HandoffSpecs:
    """The handoff specs in force: kind → required fields, sender and receiver roles, acceptance SLA, team change."""
    return config_view(session, ConfigKind.handoff_specs)


@router.put("/handoffs", response_model=ConfigVersionRef)
def put_handoff_specs(body: HandoffSpecsIn, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
    """Write a new version. Running handoffs keep the spec they started with."""
    return write_config(session, ConfigKind.handoff_specs, body, editor.id)


@router.get("/handoffs/{version}", response_model=HandoffSpecs)
def get_handoff_specs_version(version: ConfigVersion, session: SessionDep, _: CurrentUser) -> HandoffSpecs:
    return config_view(session, ConfigKind.handoff_specs, version)
