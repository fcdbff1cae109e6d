"""Custom search attributes: what managers and ops filter executions on.

Every one of them must be registered on the Temporal namespace before a workflow upserts it
(the dev stack, docker-compose and the tests all register `ALL`).
"""

from temporalio.common import SearchAttributeKey

ACCOUNT_ID = SearchAttributeKey.for_keyword("PillarAccountId")
STATUS = SearchAttributeKey.for_keyword("PillarStatus")
FAMILY = SearchAttributeKey.for_keyword("PillarFamily")
SEVERITY = SearchAttributeKey.for_keyword("PillarSeverity")
OWNER_IDS = SearchAttributeKey.for_keyword_list("PillarOwnerIds")
ESCALATION_LEVEL = SearchAttributeKey.for_int("PillarEscalationLevel")
PLAY_KEY = SearchAttributeKey.for_keyword("PillarPlayKey")
CURRENT_STEPS = SearchAttributeKey.for_keyword_list("PillarCurrentSteps")
STUCK = SearchAttributeKey.for_bool("PillarStuck")
HANDOFF_KIND = SearchAttributeKey.for_keyword("PillarHandoffKind")
FAILED_STEPS = SearchAttributeKey.for_keyword_list("PillarFailedSteps")  # play steps whose action gave up

ALL = [
    ACCOUNT_ID,
    STATUS,
    FAMILY,
    SEVERITY,
    OWNER_IDS,
    ESCALATION_LEVEL,
    PLAY_KEY,
    CURRENT_STEPS,
    STUCK,
    HANDOFF_KIND,
    FAILED_STEPS,
]

CLI_TYPES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "INT": "Int",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "DOUBLE": "Double",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` flags for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type.name]}"]
    return flags
