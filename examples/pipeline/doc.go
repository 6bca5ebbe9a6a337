// Command pipeline is the road from your own logs to a served model.
//
//	go run ./examples/pipeline gen -out DIR -users U -videos V -events N -seed S [-days D]
//	go run ./examples/pipeline train -data DIR -out MODELDIR [-spec FILE] [-epochs N] [-holdout last|after=TIME] [-quiet] [-strict] [-max-rejected SHARE] [-max-time TIME]
//	                                 [-warm-start PREV_MODELDIR [-decay 0.5]] [-since TIME] [-until TIME] [-lookback 720h]
//	go run ./examples/pipeline eval -model MODELDIR -data DIR -after TIME [-until TIME] [-spec FILE] [-scores FILE] [-frozen-stats]
//	go run ./examples/pipeline compare -a MODELDIR_A -b MODELDIR_B -data DIR -after TIME [-until TIME] [-metric hr@50_all] [-tolerance 0.01]
//	go run ./examples/pipeline metrics -scores FILE
//	go run ./examples/pipeline export -model MODELDIR -format npy|parquet|onnx -out PATH
//
// gen writes a generated world's watch log, impression log and catalogue as
// Parquet shards in Spark's layout under DIR, with spec.json, their column
// mapping. train reads a data folder (watches/, and impressions/ and
// catalogue/ when present; Parquet or CSV/TSV), streams it through both
// stages and writes one model directory, atomically; examples/serve serves
// it. Rows that break the input rules (README, "Input rules") are counted
// by reason; -strict makes the first one an error, and a file with more
// than -max-rejected of its rows rejected (default 0.01) fails the run,
// naming the file and the top reason. Rows later than -max-time (RFC 3339
// or a date; default now + 24h) are rejected. SIGINT and SIGTERM stop a
// run and remove its spill files. Epochs are chosen by early stopping on
// the last eighth of the training window unless -epochs is set. With
// -holdout last each user's last watch is held out and the run reports
// HR@10/50/100 and NDCG@10, history-filtered and not; with -holdout
// after=TIME both stages train on the events before TIME and are measured
// on those after it (candidate generation beside most popular; the ranker's
// click AUC, weighted per-user loss, watch-time NDCG@10 and calibration
// beside the click-through rate so far and an unweighted ranker). The run
// ends with one JSON line of metrics. eval gives those metrics, all but the
// unweighted ranker's (it trains nothing), for a trained model directory on
// a later log (-scores: one CSV row per
// impression; -frozen-stats: the running video statistics as the server
// holds them); metrics scores any such CSV with the same code. export writes the model's item vectors and
// their video IDs for FAISS, Milvus or Qdrant: -format npy writes
// PATH/items.npy (float32, n×(D+1)) and PATH/ids.npy (int64), -format
// parquet the file PATH (id INT64, vector LIST<FLOAT>). Queries are [u, 1].
// -format onnx writes PATH/user_tower.onnx (the user features → [u, 1]),
// PATH/ranker.onnx (the ranker's features → logit, expected watch time)
// and PATH/signature.json, their inputs (see export.UserTowerONNX).
//
// The daily loop (daily.sh runs one day of it): gen -days D writes a log of
// D daily partitions (dt=YYYY-MM-DD/) with videos uploaded every day;
// train -warm-start PREV continues both stages from the previous model
// directory (its models, vocabularies, normalizers and optimizer states),
// drawing examples from the end of its window on and reading -lookback
// before that for the users' histories and signals (-since and -until set
// the window by hand); eval reports new_videos_hr@100_all, the share of the
// window's watches of videos first seen the day before that candidate
// generation retrieves in its top 100; compare evaluates two model
// directories on the same later window and exits 3 when B is worse than A
// on -metric beyond -tolerance (1 on any error), the gate before
// /admin/reload.
package main
