#!/usr/bin/python3
"""A gradient-boosted-trees ranker on KuaiRand-Pure, beside ytdnn's ranker.

It reads the log itself (impressions converted to CSV by parquet2csv.mjs,
the official user and video feature tables), builds the features a
practitioner would hand-build from the impressions strictly before each
one (user, video, author and tag click-through rates and play time so far,
times the video was shown to the user, the user's clicks on the author and
tag, hours since the user's last impression, hour, tab, video duration and
age, user activity), trains scikit-learn's HistGradientBoostingClassifier
on the impressions before T with the same watch-time weights as the paper's
weighted logistic regression (a click weighs its play time in seconds, a
non-click 1), and scores exactly the rows of ytdnn's scores file (pipeline
eval -scores) with the odds p/(1-p), the expected watch time that weighting
estimates. The output has the scores file's format, so

  go run ./examples/pipeline metrics -scores OUT.csv

measures both with the same code. Debian's python3-sklearn and
python3-numpy (run with /usr/bin/python3). Usage:

  kuairand_gbdt.py IMPRESSIONS.csv USERS.csv VIDEOS.csv T_MS YTDNN_SCORES.csv OUT.csv [SEED]
"""
import csv
import math
import sys
from collections import defaultdict

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

PRIOR = 10.0  # smoothing weight, in impressions, of every rate


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(s, default=0.0):
    try:
        v = float(s)
        return v if math.isfinite(v) else default
    except (TypeError, ValueError):
        return default


def main():
    imp_path, users_path, videos_path, t_ms, ytdnn_path, out_path = sys.argv[1:7]
    seed = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    t_ms = int(t_ms)
    imps = read_csv(imp_path)
    imps.sort(key=lambda r: (int(r["time_ms"]), int(r["user_id"]), int(r["video_id"])))
    users = {int(r["user_id"]): r for r in read_csv(users_path)}
    videos = {int(r["video_id"]): r for r in read_csv(videos_path)}
    degree = {d: i for i, d in enumerate(sorted({r["user_active_degree"] for r in users.values()}))}
    tabs, tags = {}, {}

    clicked_before = [r for r in imps if int(r["time_ms"]) < t_ms]
    prior = sum(int(r["is_click"]) for r in clicked_before) / max(1, len(clicked_before))

    # Running counters, updated after each impression is featurized.
    n = defaultdict(float)   # key -> impressions
    c = defaultdict(float)   # key -> clicks
    p = defaultdict(float)   # key -> play seconds
    last = {}                # user -> last impression time

    def rate(key):
        return (c[key] + PRIOR * prior) / (n[key] + PRIOR)

    rows, X = [], []
    for r in imps:
        u, v, at = int(r["user_id"]), int(r["video_id"]), int(r["time_ms"])
        vid = videos.get(v, {})
        author, tag = vid.get("author_id", ""), vid.get("tag", "")
        tabs.setdefault(r["tab"], len(tabs))
        tags.setdefault(tag, len(tags))
        usr = users.get(u, {})
        upload = vid.get("upload_dt", "")
        age_days = -1.0
        if upload:
            y, mo, d = (int(x) for x in upload.split("-"))
            age_days = (at / 86_400_000) - (np.datetime64(f"{y:04d}-{mo:02d}-{d:02d}").astype("datetime64[D]").astype(int))
        X.append([
            n[("u", u)], rate(("u", u)), p[("u", u)] / max(1, c[("u", u)]),
            n[("v", v)], rate(("v", v)), p[("v", v)] / max(1, c[("v", v)]),
            rate(("a", author)), n[("a", author)], rate(("t", tag)),
            n[("uv", u, v)], c[("ua", u, author)], c[("ut", u, tag)],
            (at - last[u]) / 3_600_000 if u in last else -1.0,
            (at // 3_600_000 + 8) % 24, tabs[r["tab"]], tags[tag],
            num(vid.get("video_duration")), age_days,
            degree.get(usr.get("user_active_degree"), -1), num(usr.get("register_days"), -1),
            num(usr.get("follow_user_num"), -1), num(usr.get("fans_user_num"), -1),
        ])
        rows.append(r)
        clk, play = int(r["is_click"]), num(r["play_time_ms"]) / 1000
        for key in (("u", u), ("v", v), ("a", author), ("t", tag), ("uv", u, v), ("ua", u, author), ("ut", u, tag)):
            n[key] += 1
            if clk:
                c[key] += 1
                p[key] += play
        last[u] = at

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray([int(r["is_click"]) for r in rows])
    w = np.asarray([num(r["play_time_ms"]) / 1000 if int(r["is_click"]) else 1.0 for r in rows])
    at = np.asarray([int(r["time_ms"]) for r in rows])
    train = at < t_ms
    cat = [13, 14, 15, 18]  # hour, tab, tag, activity degree
    model = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=31, categorical_features=cat,
        early_stopping=True, validation_fraction=0.1, random_state=seed)
    model.fit(X[train], y[train], sample_weight=w[train])

    index = {(int(r["user_id"]), int(r["video_id"]), int(r["time_ms"])): i for i, r in enumerate(rows)}
    with open(ytdnn_path, newline="") as f, open(out_path, "w", newline="") as g:
        rd, wr = csv.reader(f), csv.writer(g)
        head = next(rd)
        wr.writerow(head)
        keys, keep = [], []
        for rec in rd:
            i = index[(int(rec[0]), int(rec[1]), int(rec[2]))]
            keys.append(i)
            keep.append(rec)
        prob = model.predict_proba(X[keys])[:, 1]
        odds = prob / np.maximum(1 - prob, 1e-9)
        for rec, s in zip(keep, odds):
            wr.writerow([rec[0], rec[1], rec[2], repr(float(s)), rec[4], rec[5]])
    print(f"trained on {int(train.sum())} impressions, scored {len(keys)} rows into {out_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
