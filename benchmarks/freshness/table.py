"""Prints run.sh's results (one or more results.jsonl, e.g. one per seed)
as Markdown tables: per run, day and variant, then each variant's mean
over every run and day ± its standard error."""
import json, math, os, sys
from collections import defaultdict

rows = []
for path in sys.argv[1:]:
    for l in open(path):
        r = json.loads(l)
        r["run"] = os.path.basename(os.path.dirname(os.path.abspath(path)))
        rows.append(r)
cols = ["hr@50_all", "hr@50_filtered", "new_videos_hr@100_all", "ranking_auc", "ranking_weighted_per_user_loss", "train_seconds"]
head = ["next-day HR@50", "HR@50 filtered", "new videos' HR@100", "click AUC", "weighted per-user loss", "training s"]
print("| run | day | model | " + " | ".join(head) + " | new-video watches |")
print("|---|---|---|" + "---|" * (len(head) + 1))
by = defaultdict(list)
fmt = lambda v, c: "–" if v is None else (f"{v:.1f}" if c == "train_seconds" else f"{v:.4f}")
for r in rows:
    by[r["variant"]].append(r)
    print(f"| {r['run']} | {r['day']} | {r['variant']} | " + " | ".join(fmt(r.get(c), c) for c in cols) + f" | {r.get('new_video_requests')} |")
print()
print("| model | " + " | ".join(head) + " |")
print("|---|" + "---|" * len(head))
for v, rs in by.items():
    cells = []
    for c in cols:
        xs = [r[c] for r in rs if r.get(c) is not None]
        if not xs:
            cells.append("–")
            continue
        m = sum(xs) / len(xs)
        se = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1) / len(xs)) if len(xs) > 1 else 0
        cells.append(f"{m:.1f} ± {se:.1f}" if c == "train_seconds" else f"{m:.4f} ± {se:.4f}")
    print(f"| {v} | " + " | ".join(cells) + " |")
