#!/usr/bin/env bash
# The daily loop, measured: for each new day D, three models trained on the
# log as it stood at the end of D (-until D+1), each evaluated on the day
# after (D+1):
#   warm  - warm-started from yesterday's warm model (the first from a
#           model trained from scratch on the days before the first D)
#   all   - from scratch on all history so far
#   last  - from scratch on day D only (-since D; earlier events build
#           users' state only, as in the warm run)
# Usage: run.sh DATA SPEC OUT TZ DAY...
#   DATA, SPEC  the log folder and its column mapping
#   OUT         a folder for the models and the JSON lines (results.jsonl)
#   TZ          the days' zone offset (Z, +08:00)
#   DAY...      the new days (YYYY-MM-DD), in order; the base model trains
#               on the log before the first
# Extra flags for every train run: $TRAIN_FLAGS (e.g. "-seed 2").
set -euo pipefail
data=$1 spec=$2 out=$3 tz=$4; shift 4
days=("$@")
mkdir -p "$out"
bin="$out/pipeline"
go build -o "$bin" ./examples/pipeline
at() { echo "${1}T00:00:00${tz}"; }
next() { date -u -d "$1 + 1 day" +%F; }
res="$out/results.jsonl"
train() { # name day model flags...
  local name=$1 day=$2 model=$3; shift 3
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" train -quiet -data "$data" -spec "$spec" -out "$model" ${TRAIN_FLAGS:-} "$@" > "$model.train.json"
  t1=$(date +%s.%N)
  local ev; ev=$(next "$day")
  "$bin" eval -quiet -model "$model" -data "$data" -spec "$spec" -after "$(at "$ev")" -until "$(at "$(next "$ev")")" > "$model.eval.json"
  python3 - "$name" "$day" "$t0" "$t1" "$model.train.json" "$model.eval.json" >> "$res" <<'PY'
import json, sys
name, day, t0, t1, tr, ev = sys.argv[1:]
t, e = json.load(open(tr)), json.load(open(ev))
print(json.dumps({"variant": name, "day": day, "train_seconds": round(float(t1) - float(t0), 1),
    "train_examples": t.get("train_examples"), "ranking_examples": t.get("ranking_examples"),
    "hr@50_all": e.get("hr@50_all"), "hr@50_filtered": e.get("hr@50_filtered"), "test_requests": e.get("test_requests"),
    "new_videos_hr@100_all": e.get("new_videos_hr@100_all"), "new_video_requests": e.get("new_video_requests"),
    "ranking_auc": e.get("ranking_auc"), "ranking_weighted_per_user_loss": e.get("ranking_weighted_per_user_loss"),
    "ranking_test_impressions": e.get("ranking_test_impressions")}))
PY
  echo "$name $day: $(tail -1 "$res")" >&2
}
: > "$res"
rm -rf "$out"/m-*
base="$out/m-base"
"$bin" train -quiet -data "$data" -spec "$spec" -out "$base" -until "$(at "${days[0]}")" ${TRAIN_FLAGS:-} > "$base.train.json"
prev=$base
for d in "${days[@]}"; do
  u=$(at "$(next "$d")")
  train warm "$d" "$out/m-warm-$d" -until "$u" -warm-start "$prev"
  prev="$out/m-warm-$d"
  train all "$d" "$out/m-all-$d" -until "$u"
  train last "$d" "$out/m-last-$d" -until "$u" -since "$(at "$d")"
done
python3 benchmarks/freshness/table.py "$res"
