// Command load drives the service (examples/serve) at constant request
// rates with vegeta and reports, per rate, the rate achieved, the share of
// 200s and the latency quantiles p50/p99/p99.9; rate "max" sends as fast
// as -workers connections allow. Requests are drawn once, reproducibly:
// histories of 5-20 videos from the model directory's vocabulary, n=10.
//
//	go run ./benchmarks/load -model MODELDIR -url http://127.0.0.1:8080/v1/recommend -rates 250,500,1000,max
//
// Run it on the machine the service runs on only to compare setups with
// each other: the load generator takes a share of the cores.
package main
