from fastapi import APIRouter

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from core import config_store
from core.errors import PillarError
from models.handoffs import HandoffSpecs, HandoffSpecsIn
from models.routing import ConfigVersionRef
from services.handoffs import HANDOFF_SPECS, specs_out

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=ERROR_RESPONSES)


@router.get("/handoffs", response_model=HandoffSpecs)
def get_handoff_specs(session: SessionDep, _: CurrentUser) -> HandoffSpecs:
    """The handoff specs in force: kind → required fields, sender and receiver roles, acceptance SLA, team change."""
    row = config_store.latest(session, HANDOFF_SPECS)
    if row is None:
        raise PillarError("not_found", "no handoff specs have been configured yet")
    return specs_out(row)


@router.put("/handoffs", response_model=ConfigVersionRef)
def put_handoff_specs(body: HandoffSpecsIn, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
    """Write a new version. Running handoffs keep the spec they started with."""
    row = config_store.append(session, HANDOFF_SPECS, body.model_dump(mode="json"), created_by=editor.id)
    return ConfigVersionRef(version=row.version)


@router.get("/handoffs/{version}", response_model=HandoffSpecs)
def get_handoff_specs_version(version: ConfigVersion, session: SessionDep, _: CurrentUser) -> HandoffSpecs:
    row = config_store.get(session, HANDOFF_SPECS, version)
    if row is None:
        raise PillarError("not_found", f"no handoff specs version {version}")
    return specs_out(row)
