package ingest

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time_zone names resolve the same on every machine
)

// The range of every time read, in Unix ms: 1900-01-01 up to the last
// millisecond int64 nanoseconds reach (2262-04-11T23:47:16.854Z). A time
// outside it is a rejected row, never a wrapped value.
const (
	minTimeMs int64 = -2_208_988_800_000
	maxTimeMs int64 = math.MaxInt64 / 1_000_000
)

// autoFrom is the first second "auto" reads by magnitude (1990-01-01): in
// [autoFrom, maxTimeMs/1000] seconds, and the same span in ms, µs and ns,
// the four units' ranges do not overlap, and a time a thousand times too
// large in one unit (year 9999 in seconds, say) lands in none of them
// instead of in the 1970s of the next.
const autoFrom int64 = 631_152_000

// unitMs is how many units make a millisecond (negative: how many
// milliseconds make a unit).
var unitMs = map[string]int64{"s": -1000, "ms": 1, "us": 1000, "ns": 1_000_000}

// timeRule reads one log's times into Unix milliseconds.
type timeRule struct {
	unit   string         // of integer and decimal times
	layout string         // Go layout of text times ("": the built-in forms)
	loc    *time.Location // of zone-less text times, DATE and local TIMESTAMP
	max    int64          // times after it (Unix ms) are rejected
}

func newTimeRule(unit, layout, zone string, max int64) (*timeRule, error) {
	r := &timeRule{unit: unit, layout: layout, loc: time.UTC, max: max}
	if zone != "" {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return nil, fmt.Errorf("time_zone %q: %v", zone, err)
		}
		r.loc = loc
	}
	if layout != "" {
		// The layout must name a date: a reference time survives a round
		// trip through it.
		ref := time.Date(2021, 3, 14, 15, 9, 26, 0, r.loc)
		got, err := time.ParseInLocation(layout, ref.Format(layout), r.loc)
		if err != nil || got.Year() != 2021 || got.YearDay() != ref.YearDay() {
			return nil, fmt.Errorf("time_layout %q does not name a date (a Go layout such as \"02/01/2006 15:04\")", layout)
		}
	}
	return r, nil
}

// check rejects a time outside the readable range or after max.
func (r *timeRule) check(ms int64) (int64, *RowError) {
	if ms < minTimeMs || ms > maxTimeMs {
		return 0, rowErr(ReasonTimeRange, "%s is outside 1900-01-01..2262-04-11", fmtMs(ms))
	}
	if ms > r.max {
		return 0, rowErr(ReasonTimeFuture, "%s is after %s (Options.MaxTime, -max-time)", fmtMs(ms), fmtMs(r.max))
	}
	return ms, nil
}

func fmtMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }

// autoRanges are the values "auto" reads in each unit: 1990-01-01 up to
// the end of the readable range (see autoFrom).
var autoRanges = []struct {
	unit   string
	lo, hi int64
}{
	{"s", autoFrom, maxTimeMs / 1000},
	{"ms", autoFrom * 1000, maxTimeMs},
	{"us", autoFrom * 1_000_000, math.MaxInt64 / 1000},
	{"ns", autoFrom * 1_000_000_000, math.MaxInt64},
}

// autoUnit picks the unit of an integer time by magnitude.
func autoUnit(v int64) (string, *RowError) {
	for _, r := range autoRanges {
		if v >= r.lo && v <= r.hi {
			return r.unit, nil
		}
	}
	return "", rowErr(ReasonTimeAmbiguous, "%d is 1990..2262 in none of s, ms, us, ns; set time_unit", v)
}

// integer reads an integer time in the rule's unit.
func (r *timeRule) integer(v int64) (int64, *RowError) {
	unit := r.unit
	if unit == "auto" {
		var bad *RowError
		if unit, bad = autoUnit(v); bad != nil {
			return 0, bad
		}
	}
	m := unitMs[unit]
	if m < 0 { // seconds: v·1000 must not overflow
		if v > maxTimeMs/1000 || v < minTimeMs/1000 {
			return 0, rowErr(ReasonTimeRange, "%d %s is outside 1900-01-01..2262-04-11", v, unit)
		}
		return r.check(v * -m)
	}
	return r.check(floorDiv(v, m))
}

// float reads a floating-point time in the rule's unit, rounded to the
// millisecond.
func (r *timeRule) float(f float64) (int64, *RowError) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, rowErr(ReasonTimeRange, "%v is not a time", f)
	}
	unit := r.unit
	if unit == "auto" {
		if math.Abs(f) >= math.MaxInt64 {
			return 0, rowErr(ReasonTimeAmbiguous, "%g is 1990..2262 in none of s, ms, us, ns; set time_unit", f)
		}
		var bad *RowError
		if unit, bad = autoUnit(int64(math.Floor(f))); bad != nil {
			return 0, bad
		}
	}
	m := float64(unitMs[unit])
	ms := f / m
	if m < 0 {
		ms = f * -m
	}
	ms = math.Round(ms)
	if ms < float64(minTimeMs) || ms > float64(maxTimeMs) {
		return 0, rowErr(ReasonTimeRange, "%g %s is outside 1900-01-01..2262-04-11", f, unit)
	}
	return r.check(int64(ms))
}

// decimal reads a decimal text time ("1700000000.25") exactly in the
// rule's unit, truncated to the millisecond.
func (r *timeRule) decimal(s string) (int64, *RowError) {
	q, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, rowErr(ReasonTimeSyntax, "%q is not a time", clip(s))
	}
	unit := r.unit
	if unit == "auto" {
		whole := new(big.Int).Quo(q.Num(), q.Denom())
		if !whole.IsInt64() {
			return 0, rowErr(ReasonTimeAmbiguous, "%s is 1990..2262 in none of s, ms, us, ns; set time_unit", clip(s))
		}
		var bad *RowError
		if unit, bad = autoUnit(whole.Int64()); bad != nil {
			return 0, bad
		}
	}
	m := unitMs[unit]
	if m < 0 {
		q.Mul(q, new(big.Rat).SetInt64(-m))
	} else {
		q.Quo(q, new(big.Rat).SetInt64(m))
	}
	ms := new(big.Int).Div(q.Num(), q.Denom()) // floor (Euclidean, denominator > 0)
	if !ms.IsInt64() {
		return 0, rowErr(ReasonTimeRange, "%s %s is outside 1900-01-01..2262-04-11", clip(s), unit)
	}
	return r.check(ms.Int64())
}

// inZone reads a zone-less wall-clock time (Unix ms as if UTC) in the
// rule's zone.
func (r *timeRule) inZone(ms int64) int64 {
	if r.loc == time.UTC {
		return ms
	}
	t := time.UnixMilli(ms).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), r.loc).UnixMilli()
}

// date reads a Parquet DATE (days since 1970-01-01): midnight in the
// rule's zone.
func (r *timeRule) date(days int64) (int64, *RowError) {
	return r.check(r.inZone(days * 86_400_000))
}

// Text forms, tried in this order when the spec gives no time_layout.
var (
	zonedLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05Z0700"}
	localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}
)

// text reads a text time: with a time_layout, that layout only; else an
// integer or decimal number in the rule's unit, RFC 3339 (a 'T' or a space
// between date and time, fractional seconds, Z or ±hh:mm or ±hhmm), or a
// zone-less date-time or date (2006-01-02[ 15:04:05[.fff]], also with 'T')
// in the rule's zone; a trailing " UTC" (BigQuery's form) is UTC.
func (r *timeRule) text(s string) (int64, *RowError) {
	if r.layout != "" {
		t, err := time.ParseInLocation(r.layout, s, r.loc)
		if err != nil {
			return 0, rowErr(ReasonTimeSyntax, "%q does not match time_layout %q", clip(s), r.layout)
		}
		return r.checkTime(t)
	}
	if isInteger(s) {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, rowErr(ReasonTimeRange, "%s is outside int64", clip(s))
		}
		return r.integer(v)
	}
	if isDecimal(s) {
		return r.decimal(s)
	}
	loc := r.loc
	if rest, ok := strings.CutSuffix(s, " UTC"); ok {
		s, loc = rest, time.UTC
	} else {
		for _, l := range zonedLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return r.checkTime(t)
			}
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return r.checkTime(t)
		}
	}
	return 0, rowErr(ReasonTimeSyntax, "%q is not a time (an integer, RFC 3339, 2006-01-02 [15:04:05], or the spec's time_layout)", clip(s))
}

func (r *timeRule) checkTime(t time.Time) (int64, *RowError) {
	if y := t.Year(); y < 1900 || y > 2262 {
		return 0, rowErr(ReasonTimeRange, "%s is outside 1900-01-01..2262-04-11", t.Format(time.RFC3339))
	}
	return r.check(t.UnixMilli())
}

// isInteger reports whether s is an optional '-' and digits.
func isInteger(s string) bool { return allDigits(strings.TrimPrefix(s, "-")) }

// isDecimal reports whether s is an optional '-', digits, a '.' and
// digits (at least one digit before or after the point).
func isDecimal(s string) bool {
	whole, frac, ok := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if !ok || whole+frac == "" {
		return false
	}
	return (whole == "" || allDigits(whole)) && (frac == "" || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// int96Millis converts Spark's legacy INT96 timestamp (nanoseconds of the
// day, then the Julian day) to Unix milliseconds.
func int96Millis(lo, hi, julian uint32) int64 {
	nanos := int64(lo) | int64(hi)<<32
	day := int64(julian) - 2_440_588 // Julian day of 1970-01-01
	return day*86_400_000 + floorDiv(nanos, 1_000_000)
}
