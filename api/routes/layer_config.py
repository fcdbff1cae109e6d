"""GET/PUT the versioned config of Layers I–III: signal definitions, score weights, cost model, territory settings."""

from fastapi import APIRouter

from api.deps import ConfigEditor, ConfigVersion, CurrentUser, SessionDep
from api.errors import ERROR_RESPONSES
from core import config_store
from core.errors import PillarError
from models.detection import SignalDefinitions, SignalDefinitionsIn
from models.financials import CostModel, CostModelIn
from models.routing import ConfigVersionRef
from models.scoring import ScoreWeights, ScoreWeightsIn
from models.territory import TerritoryConfig, TerritorySettings
from services import layer_config

router = APIRouter(prefix="/api/v1/config", tags=["config"], responses=ERROR_RESPONSES)


def _routes(path: str, kind: str, model_in, model_out, what: str) -> None:
    def out(row):
        return model_out.model_validate({**row.body, "version": row.version, "created_at": row.created_at, "created_by": row.created_by})

    def read_latest(session: SessionDep, _: CurrentUser):
        row = config_store.latest(session, kind)
        if row is None:
            raise PillarError("not_found", f"no {what} has been configured yet")
        return out(row)

    def write(body: model_in, session: SessionDep, editor: ConfigEditor) -> ConfigVersionRef:
        row = config_store.append(session, kind, body.model_dump(mode="json"), created_by=editor.id)
        return ConfigVersionRef(version=row.version)

    def read_version(version: ConfigVersion, session: SessionDep, _: CurrentUser):
        row = config_store.get(session, kind, version)
        if row is None:
            raise PillarError("not_found", f"no {what} version {version}")
        return out(row)

    name = kind.replace("_", " ")
    router.add_api_route(f"/{path}", read_latest, methods=["GET"], response_model=model_out, summary=f"The {name} in force")
    router.add_api_route(f"/{path}", write, methods=["PUT"], response_model=ConfigVersionRef,
                         summary=f"Write a new {name} version (admin, revops)")
    router.add_api_route(f"/{path}/{{version}}", read_version, methods=["GET"], response_model=model_out,
                         summary=f"One {name} version")


_routes("signal-definitions", layer_config.SIGNAL_DEFINITIONS, SignalDefinitionsIn, SignalDefinitions, "signal definitions")
_routes("score-weights", layer_config.SCORE_WEIGHTS, ScoreWeightsIn, ScoreWeights, "score weights")
_routes("cost-model", layer_config.COST_MODEL, CostModelIn, CostModel, "cost model")
_routes("territory", layer_config.TERRITORY, TerritorySettings, TerritoryConfig, "territory settings")
