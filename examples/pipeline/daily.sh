#!/usr/bin/env bash
# daily.sh: one run of the daily loop (README "Fresh models every day").
#
#   train  the new model, warm-started from ROOT/current, on the log up to
#          NOW minus HOLDOUT (the last hours are held out for the gate);
#   gate   pipeline compare: the serving model (A) and the new one (B) on
#          the held-out hours; B worse than A beyond TOLERANCE on METRIC
#          keeps A (exit 3);
#   swap   with SERVE_ADMIN set, the service loads the new version (POST
#          /admin/reload {"version": ...}; a failed reload changes
#          nothing), then ROOT/current points to it.
#
# One run at a time: a second run while one holds ROOT/.daily.lock exits 1.
#
# The held-out hours are not lost: the next run's warm start trains from
# where this model's window ended. The first run (no ROOT/current) trains
# from scratch and has nothing to compare with.
#
# Usage: daily.sh DATA SPEC ROOT [NOW]
#   DATA, SPEC  the log folder (daily partitions dt=YYYY-MM-DD/ are read
#               only within the look-back) and its column mapping
#   ROOT        the model root: one directory per version, `current` a link
#   NOW         the run's time, RFC 3339 (default: the clock)
# Environment: PIPELINE (the pipeline command; default: go run
# ./examples/pipeline, which needs the repository root as the working
# directory: from cron, set it to a built binary), HOLDOUT (hours, default
# 6), LOOKBACK (train's -lookback, e.g. 336h), DECAY (train's -decay), METRIC (hr@50_all),
# TOLERANCE (0.01), SERVE_ADMIN (e.g. http://127.0.0.1:9090) with
# ADMIN_TOKEN_FILE (the serve -admin-token-file).
set -euo pipefail
data=$1 spec=$2 root=$3
now=${4:-$(date -u +%FT%TZ)}
pipeline=${PIPELINE:-go run ./examples/pipeline}
cut=$(date -u -d "$now - ${HOLDOUT:-6} hours" +%FT%TZ)
version=v$(date -u -d "$cut" +%Y%m%d-%H%M)
new=$root/$version
mkdir -p "$root"
exec 9> "$root/.daily.lock"
if ! flock -n 9; then echo "daily: another run holds $root/.daily.lock" >&2; exit 1; fi
if [ -e "$new" ]; then echo "daily: $new exists" >&2; exit 1; fi
if [ -L "$root/current" ] && [ ! -e "$root/current" ]; then
  echo "daily: $root/current links to $(readlink "$root/current"), which does not exist" >&2; exit 1
fi
# A failed step leaves nothing of this run behind (a version the gate
# refused is kept, renamed .rejected, to look into).
fail() { rm -rf "$new" "$new.train.json" "$new.compare.json"; exit "$1"; }
flags=()
[ -n "${DECAY:-}" ] && flags+=(-decay "$DECAY")
[ -n "${LOOKBACK:-}" ] && flags+=(-lookback "$LOOKBACK")
if [ ! -e "$root/current" ]; then
  # A first run has nothing to decay and no window to look back from.
  $pipeline train -quiet -data "$data" -spec "$spec" -until "$cut" -out "$new" > "$new.train.json" || fail $?
  echo "daily: first model $version (trained from scratch)" >&2
else
  $pipeline train -quiet -data "$data" -spec "$spec" -until "$cut" -warm-start "$root/current" "${flags[@]}" -out "$new" > "$new.train.json" || fail $?
  rc=0
  $pipeline compare -quiet -a "$root/current" -b "$new" -data "$data" -spec "$spec" -after "$cut" -until "$now" \
    -metric "${METRIC:-hr@50_all}" -tolerance "${TOLERANCE:-0.01}" > "$new.compare.json" || rc=$?
  case $rc in
    0) ;;
    3) echo "daily: $version is worse than $(readlink "$root/current") on ${METRIC:-hr@50_all}; keeping it ($new.rejected)" >&2
       mv "$new" "$new.rejected"; exit 3 ;;
    *) echo "daily: compare failed" >&2; fail $rc ;;
  esac
fi
if [ -n "${SERVE_ADMIN:-}" ]; then
  curl -fsS -X POST -H "Authorization: Bearer $(cat "$ADMIN_TOKEN_FILE")" \
    -d "{\"version\": \"$version\"}" "$SERVE_ADMIN/admin/reload" >&2 ||
    { echo "daily: the service did not reload $version; current stays" >&2; exit 1; }
fi
ln -sfn "$version" "$root/current.new" && mv -T "$root/current.new" "$root/current"
echo "daily: current -> $version" >&2
