#!/bin/sh
# One-shot (temporalio/admin-tools): the namespace and Pillar's custom search attributes
# (keep in step with workflows/search_attributes.py; tests/api/test_devstack.py checks it). Safe to re-run.
set -eu
NS="${TEMPORAL_NAMESPACE:-default}"

until temporal operator cluster health >/dev/null 2>&1; do
  echo "waiting for Temporal at ${TEMPORAL_ADDRESS}"
  sleep 2
done

temporal operator namespace describe -n "$NS" >/dev/null 2>&1 || temporal operator namespace create -n "$NS" --retention 30d

# A namespace just created takes a few seconds to become usable: retry.
search_attribute() {
  for _ in $(seq 1 30); do
    temporal operator search-attribute create -n "$NS" --name "$1" --type "$2" >/dev/null 2>&1 && return 0
    sleep 2
  done
  temporal operator search-attribute create -n "$NS" --name "$1" --type "$2"
}

search_attribute PillarAccountId Keyword
search_attribute PillarStatus Keyword
search_attribute PillarFamily Keyword
search_attribute PillarSeverity Keyword
search_attribute PillarOwnerIds KeywordList
search_attribute PillarEscalationLevel Int
search_attribute PillarPlayKey Keyword
search_attribute PillarCurrentSteps KeywordList
search_attribute PillarStuck Bool
search_attribute PillarHandoffKind Keyword
search_attribute PillarFailedSteps KeywordList
echo "namespace $NS and Pillar's search attributes are registered"
