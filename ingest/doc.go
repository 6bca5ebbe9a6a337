// Package ingest reads a team's own logs — a watch log, an impression log
// and a video catalogue, as folders of Parquet shards written by Spark or
// BigQuery, or CSV/TSV files — and streams them to training with bounded
// memory. Every value is read by one rule per column, the same for Parquet
// and CSV; what breaks a rule is a rejected row, counted by Reason, never a
// silently changed value.
//
// # Files
//
// A dataset is a file or a folder: every .parquet, .csv and .tsv file below
// it is read, in name order, skipping names that start with '_' or '.'
// (Spark's _SUCCESS, checksum files). Symbolic links are followed (the
// dataset folder itself may be one); a folder reached twice (a link loop,
// two links to one folder) is an error naming it, never read twice. A
// 0-byte data file (a failed or empty Spark task's) is skipped and named in
// the Report (Empty, EmptyFiles); a folder of only empty files is an error.
// key=value folders (Hive partitioning) supply a column a file lacks:
// values are unescaped as Spark escapes them (region=a%3Ab is "a:b") and
// __HIVE_DEFAULT_PARTITION__ is null. Parquet is read with
// github.com/parquet-go/parquet-go: any codec it supports (snappy, zstd,
// gzip, ...), dictionary-encoded columns, any number of row groups (one row
// group's mapped columns are in memory at a time). CSV and TSV files start
// with a header line (after an optional UTF-8 byte-order mark; a mapped
// column named twice is an error); row numbers in reports count data rows.
//
// # Column mapping
//
// A Spec (a JSON file, see ReadSpec) names the columns: user, item and time
// of both logs, search tokens and user features of the watch log, click and
// watch time of the impression log, the catalogue's video features, and
// how IDs and times are read. Without one, DefaultSpec reads user_id,
// item_id, timestamp, clicked and watch_seconds.
//
// # IDs
//
// Each ID space has one type: the users (both logs), the videos (both logs
// and the catalogue), the search tokens, and each ID-kind feature column.
// The spec may declare it ("user_id_type", "item_id_type",
// "search_tokens_id_type", a feature's "id_type": "int" or "text");
// otherwise Parquet decides, before any row is read: a space whose columns
// are integer (INT32/INT64, signed or not) is int, one whose columns are
// text (STRING, ENUM, plain BYTE_ARRAY, UUID) is text, and a space with
// both is an error naming a file of each (declare the type). A space only
// CSV files or partition folders fill is int (search tokens: text).
//
//   - int: a text value must be a canonical integer — "0", or an optional
//     '-' then digits without a leading zero. "007", "+7", " 7 ", "12.0"
//     and "1e3" are rejected rows naming the value (ReasonNotCanonical),
//     never merged with 7 or made a second video. Values beyond int64, and
//     math.MinInt64 (events.NullID), are ReasonIDRange.
//   - text: the text is the ID, byte for byte ("007", "7" and " 7 " are
//     three IDs; an integer column's values read as their decimal text).
//     Each distinct text gets an int64 ID, 1, 2, 3, … in the order first
//     read (files in name order, rows in order; watches, impressions, then
//     the catalogue), through an events.Dict of its space: Log.Dicts, to
//     be stored with the model so a service maps request text to IDs and
//     back. Texts longer than events.MaxIDText bytes are ReasonIDLong. The
//     dictionaries are held in memory: the texts plus about 50 bytes per
//     distinct ID (10⁷ users of 20 characters: about 700 MB), the one part
//     of a read that grows with the data; a text of a rejected row may
//     have been added.
//
// Null is apart from every value: a Parquet null, an empty cell, and the
// texts NULL, null, None, nan, NaN and \N (in CSV, Parquet strings and
// partition folders). A null user or video is a rejected row
// (ReasonNullID); a null ID-kind feature value is events.NullID, which the
// feature layer reads as unknown (OOV), while a real 0 stays category 0.
// A null continuous feature reads as 0.
//
// A column that cannot hold what it maps — a list, map or struct where one
// value is wanted (only search tokens may be a list), a DOUBLE or BOOLEAN
// ID, a TIME-of-day time — fails the read with ErrColumnType, naming the
// file, the column and its type, before any of its rows is read.
//
// # Times
//
// Times become Unix milliseconds and must lie in 1900-01-01..2262-04-11
// (the int64-nanosecond range); outside it, or overflowing on the way,
// is ReasonTimeRange, never a wrapped value.
//
//   - Parquet TIMESTAMP (MILLIS, MICROS, NANOS) carries its unit; one not
//     adjusted to UTC is a wall clock in the spec's time_zone. DATE is
//     days: midnight in time_zone. INT96 is Spark's legacy UTC timestamp.
//   - Integers (and FLOAT/DOUBLE, rounded to the millisecond; decimal text
//     such as "1700000000.5", exactly) are in the spec's time_unit: "s",
//     "ms", "us", "ns", or "auto", which reads by magnitude only what is
//     1990-01-01..2262-04-11 in exactly one unit — seconds 631,152,000 to
//     9,223,372,036 and the same span ×10³ (ms), ×10⁶ (µs), ×10⁹ (ns). The
//     spans do not overlap, so year 9999 in seconds (2.5·10¹¹), which
//     "ms" would read as 1978, is ReasonTimeAmbiguous, as is anything before
//     1990 (set time_unit to read those).
//   - Text: with the spec's time_layout (a Go layout) that layout only;
//     otherwise an integer or decimal as above, RFC 3339 with a zone (a 'T'
//     or a space before the time, fractional seconds, Z, ±hh:mm or ±hhmm),
//     "2006-01-02 15:04:05 UTC" (BigQuery), or a date or date-time without
//     a zone ("2022-04-10", "2022-04-10 12:00:00[.fff]"), read in time_zone
//     [UTC]. Anything else is ReasonTimeSyntax.
//
// Far outliers: a time after Options.MaxTime (default: the wall clock at
// the start of the read plus DefaultFutureSlack, one day) is
// ReasonTimeFuture, so one row dated 2100 moves neither the end of the
// window nor any example's age. Catalogue times are held to it too.
//
// A window: Options.MinTime and Options.Until read the log between two
// times (a daily run's look-back; the log as it stood on a past day).
// Watches and impressions outside are skipped and counted, not rejected;
// files under daily partition folders (dt=YYYY-MM-DD/) two days or more
// outside are not opened.
//
// # Numbers
//
// The watch time must be null or a finite number, ≥ 0 and within float32
// (the type training uses), on every row, clicked or not: NaN and ±Inf are
// ReasonNumber, negatives ReasonNegative, 1e39 ReasonFloat32. A clicked
// row needs one (ReasonNoWatchTime). In number columns nan and NaN are
// NaN, not null. The click is exactly 0, 1, true or false (any letter
// case), or a BOOLEAN: 2, -1, "yes" and "1.0" are ReasonBool. A continuous
// feature must be finite; DECIMAL columns are scaled.
//
// # Rejected rows and runs
//
// A rejected row is counted by Reason in the Report (ByReason), the first
// MaxReported kept with file, row, column and value, and skipped;
// Options.Strict makes the first one the error. A file with more than
// Options.MaxRejected of its rows rejected (default DefaultMaxRejected,
// 1%) fails the read with ErrTooManyRejected, naming the file, the share
// and the top reason: a whole file or column that cannot be read never
// passes quietly. A log left without a watch fails with the count of each
// reason. A missing column is an error naming the column and the file
// (ErrMissingColumn); a truncated or non-Parquet file an error naming the
// file. Whatever ends Build with an error, its spill folder is removed.
//
// # Grouping by user with bounded memory
//
// Next-watch examples need each user's events in time order, and Spark's
// output is not sorted by user. Build partitions the events by hash(user)
// into spill files (about Options.PartitionEvents events each, at most
// 1,024 files), sorts each partition in memory, and Log.EachUser then
// streams the users in time order. Memory: one partition while sorting
// (about 100 bytes an event), one user while reading, the catalogue, and
// the text-ID dictionaries (see # IDs). Temporary disk: about 30 bytes per
// event plus 1-10 bytes per search token and 9-18 per user feature, once
// (each unsorted partition is removed when its sorted copy is written).
//
// # Concurrency
//
// A Log may be read by one EachUser at a time; its Dicts and Catalogue
// may be read by any number of goroutines.
package ingest
