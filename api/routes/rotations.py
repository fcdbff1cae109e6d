"""On-call rotations: their versioned config, and who is on call at a moment."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from models.common import Instant
from models.rotations import ROTATION_KEY_PATTERN, OnCallAt, RotationsConfig, RotationsConfigIn
from models.routing import ConfigVersionRef
from services.config_views import ConfigKind, config_view, write_config
from services.rotations import on_call

router = APIRouter(prefix="/api/v1", tags=["rotations"], responses=ERROR_RESPONSES)

RotationKey = Annotated[str, Path(pattern=rf"^{ROTATION_KEY_PATTERN}$")]


@router.get("/config/rotations", response_model=RotationsConfig)
def get_rotations(session: SessionDep, _: CurrentUser) -> RotationsConfig:
    """The rotations in force: members in order, handover, overrides. A rule's owner `rotation:<key>` names one."""
    return config_view(session, ConfigKind.rotations)


@router.put("/config/rotations", response_model=ConfigVersionRef)
def put_rotations(body: RotationsConfigIn, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
    """Write a new version (admin, revops): every member and cover must be a user, and every rotation the routing
    matrix names must stay. Signals already started keep the owner they were given."""
    return write_config(session, ConfigKind.rotations, body, editor.id)


@router.get("/config/rotations/{version}", response_model=RotationsConfig)
def get_rotations_version(version: ConfigVersion, session: SessionDep, _: CurrentUser) -> RotationsConfig:
    return config_view(session, ConfigKind.rotations, version)


@router.get("/rotations/{key}/on-call", response_model=OnCallAt)
def get_on_call(key: RotationKey, session: SessionDep, _: CurrentUser,
                at: Annotated[Instant | None, Query(description="A moment with its time zone; now if left out")] = None,
                ) -> OnCallAt:
    """Who is on call for the rotation at `at` (by the rotations in force), whose turn it is, and why."""
    return on_call(session, key, at or datetime.now(UTC))
