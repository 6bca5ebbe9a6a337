// Command kuairand runs the paper's ranking ablation (§4) on a real short-
// video log, KuaiRand-Pure: impressions with clicks and play time, trained
// before a time and evaluated after it. See main.go for the flags and
// RESULTS.md for the numbers. spec.json maps the log for pipeline train,
// eval and this command.
package main
