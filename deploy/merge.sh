#!/bin/sh
# The merge of a trailproof audit's shards, once every shard has ended: the
# reports a single run gives, in REPORTS. Exit 0 pass, 1 the evidence is not
# intact, 2 incomplete or a part missing.
#
#   PARTS    the folder the shards wrote to
#   REPORTS  where the reports go
set -eu
PARTS=${PARTS:-/parts}
REPORTS=${REPORTS:-$PARTS}
mkdir -p "$REPORTS"
exec trailproof merge "$PARTS"/part-*.json --format human --output "$REPORTS/report.txt" \
    --report json="$REPORTS/report.json" --report sarif="$REPORTS/report.sarif"
