#!/bin/sh
# One shard of a trailproof audit on a batch engine (Kubernetes Indexed Job,
# AWS Batch array job, Slurm array job): take the shard's part of the bucket
# with `trailproof collect --plan`, verify it with `--plan`, and leave the
# partial report for `deploy/merge.sh`. The shard's index comes from the
# engine (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, SLURM_ARRAY_TASK_ID).
#
#   BUCKET        s3://bucket[/prefix] to audit (required)
#   UNTIL         the end of the audited time, the same on every node (required): nodes that
#                 collect at different hours would otherwise hold different digests
#   PLAN          the plan (`trailproof plan`), the same file on every node
#   MIRROR        where this node's part is collected (the same path on every node)
#   PARTS         a folder shared by the shards and the merge
#   ENDPOINT_URL  optional: an S3-compatible endpoint (MinIO, Ceph, a test server)
set -eu
: "${BUCKET:?set BUCKET=s3://bucket[/prefix]}"
: "${UNTIL:?set UNTIL to the end of the audited time (e.g. 2026-12-01T00:00:00Z), the same on every node}"
PLAN=${PLAN:-/plan/plan.json}
MIRROR=${MIRROR:-/data/mirror}
PARTS=${PARTS:-/parts}
index=${JOB_COMPLETION_INDEX:-${AWS_BATCH_JOB_ARRAY_INDEX:-${SLURM_ARRAY_TASK_ID:?no shard index from the engine}}}

# Exit 1 from collect means a local file differed from the bucket's object (kept and recorded):
# the verify below reports it; exit 2 means it could not collect, and the shard fails.
rm -f "$PARTS/part-$index.json" "$PARTS/part-$index.json.tmp"   # never an earlier audit's part
status=0
trailproof collect "$BUCKET" "$MIRROR" --plan "$PLAN" --shard "$index" --until "$UNTIL" \
    ${ENDPOINT_URL:+--endpoint-url "$ENDPOINT_URL"} || status=$?
[ "$status" -le 1 ] || exit "$status"

# --fail-on never: a shard that finds tampering still ends 0, so that the merge runs and decides;
# exit 2 with a report is an incomplete verdict (the merge says so), without one it could not run.
status=0
trailproof verify "$MIRROR" --public-keys "$MIRROR/.trailproof-collection/public-keys" \
    --plan "$PLAN" --shard "$index" --end-time "$UNTIL" --fail-on never --quiet \
    --format json --output "$PARTS/part-$index.json.tmp" || status=$?
[ "$status" -eq 0 ] || { [ "$status" -eq 2 ] && [ -s "$PARTS/part-$index.json.tmp" ]; } || exit "$status"
mv "$PARTS/part-$index.json.tmp" "$PARTS/part-$index.json"
