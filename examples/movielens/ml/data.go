package ml

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Rating is one rating (a watch).
type Rating struct {
	User, Movie int64
	Time        int64
}

// User holds the optional demographics.
type User struct {
	Gender     float64 // 1 for F
	Age        float64
	Occupation string
	Zip        string
}

// Data is a loaded MovieLens folder.
type Data struct {
	Layout  string // "100k", "1m" (also 10M's layout) or "csv" (20M, 25M, latest)
	Ratings []Rating
	Users   map[int64]User     // nil when the users file is absent
	Genres  map[int64][]string // nil when the movies file is absent
}

// ParseError names the file and line of a malformed line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Load detects the layout from the files present and reads it.
func Load(dir string) (*Data, error) {
	d := &Data{}
	var ratings, users, movies, sep string
	switch {
	case exists(filepath.Join(dir, "u.data")):
		d.Layout, ratings, users, movies = "100k", "u.data", "u.user", "u.item"
	case exists(filepath.Join(dir, "ratings.dat")):
		d.Layout, ratings, users, movies, sep = "1m", "ratings.dat", "users.dat", "movies.dat", "::"
	case exists(filepath.Join(dir, "ratings.csv")):
		d.Layout, ratings, movies = "csv", "ratings.csv", "movies.csv"
	default:
		return nil, fmt.Errorf("%s: none of u.data (MovieLens-100K), ratings.dat (MovieLens-1M/10M) or ratings.csv (MovieLens-20M/25M/latest) found", dir)
	}
	addRating := func(f []string, pe func(string, ...any) error) error {
		r, err := parseRating(f, pe)
		if err == nil {
			d.Ratings = append(d.Ratings, r)
		}
		return err
	}
	var err error
	if d.Layout == "csv" {
		err = eachCSV(filepath.Join(dir, ratings), []string{"userId", "movieId", "rating", "timestamp"}, addRating)
	} else {
		err = eachLine(filepath.Join(dir, ratings), func(line string, pe func(string, ...any) error) error {
			if sep != "" {
				return addRating(strings.Split(line, sep), pe)
			}
			return addRating(strings.Fields(line), pe)
		})
	}
	if err != nil {
		return nil, err
	}
	if len(d.Ratings) == 0 {
		return nil, fmt.Errorf("%s: no ratings", filepath.Join(dir, ratings))
	}
	if d.Layout == "csv" { // no user file
		if p := filepath.Join(dir, movies); exists(p) {
			if err := loadCSVMovies(d, p); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	if p := filepath.Join(dir, users); exists(p) {
		d.Users = map[int64]User{}
		err := eachLine(p, func(line string, pe func(string, ...any) error) error {
			var f []string
			if sep != "" {
				f = strings.Split(line, sep)
			} else {
				f = strings.Split(line, "|")
			}
			if len(f) < 5 {
				return pe("want 5 fields, got %d", len(f))
			}
			id, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return pe("bad user id %q", f[0])
			}
			var u User
			ageF, genF, occF := f[1], f[2], f[3]
			if d.Layout == "1m" {
				genF, ageF = f[1], f[2]
			}
			if u.Age, err = strconv.ParseFloat(ageF, 64); err != nil {
				return pe("bad age %q", ageF)
			}
			switch genF {
			case "F":
				u.Gender = 1
			case "M":
			default:
				return pe("bad gender %q", genF)
			}
			u.Occupation, u.Zip = occF, f[4]
			d.Users[id] = u
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if p := filepath.Join(dir, movies); exists(p) {
		d.Genres = map[int64][]string{}
		var names []string
		if d.Layout == "100k" {
			names = []string{"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"}
		}
		err := eachLine(p, func(line string, pe func(string, ...any) error) error {
			if d.Layout == "1m" {
				f := strings.Split(line, "::")
				if len(f) < 3 {
					return pe("want 3 fields, got %d", len(f))
				}
				id, err := strconv.ParseInt(f[0], 10, 64)
				if err != nil {
					return pe("bad movie id %q", f[0])
				}
				d.Genres[id] = strings.Split(f[2], "|")
				return nil
			}
			f := strings.Split(line, "|")
			if len(f) < 5+len(names) {
				return pe("want %d fields, got %d", 5+len(names), len(f))
			}
			id, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return pe("bad movie id %q", f[0])
			}
			for i, flag := range f[len(f)-len(names):] {
				if flag == "1" {
					d.Genres[id] = append(d.Genres[id], names[i])
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return d, nil
}

// eachLine calls fn on every non-empty line; fn's errors get file and line.
func eachLine(path string, fn func(line string, pe func(string, ...any) error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scan(f, filepath.Base(path), fn)
}

func scan(r io.Reader, name string, fn func(line string, pe func(string, ...any) error) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		pe := func(format string, a ...any) error {
			return &ParseError{File: name, Line: n, Msg: fmt.Sprintf(format, a...)}
		}
		if !isValidText(line) {
			return pe("line is not valid text")
		}
		if err := fn(line, pe); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &ParseError{File: name, Line: n + 1, Msg: "line too long"}
		}
		return err
	}
	return nil
}

func isValidText(s string) bool { return !bytes.ContainsRune([]byte(s), 0) }

// parseRating reads user, movie and timestamp from the fields of one rating
// (user, movie, rating, timestamp, in every layout).
func parseRating(f []string, pe func(string, ...any) error) (Rating, error) {
	var r Rating
	if len(f) < 4 {
		return r, pe("want 4 fields (user, movie, rating, timestamp), got %d", len(f))
	}
	var err error
	if r.User, err = strconv.ParseInt(strings.TrimSpace(f[0]), 10, 64); err != nil {
		return r, pe("bad user id %q", f[0])
	}
	if r.Movie, err = strconv.ParseInt(strings.TrimSpace(f[1]), 10, 64); err != nil {
		return r, pe("bad movie id %q", f[1])
	}
	if r.Time, err = strconv.ParseInt(strings.TrimSpace(f[3]), 10, 64); err != nil {
		return r, pe("bad timestamp %q", f[3])
	}
	return r, nil
}

// ParseRatingLine parses one MovieLens-100K rating line (tab-separated); it
// is exported for fuzzing.
func ParseRatingLine(line string) (Rating, error) {
	var out Rating
	err := scan(strings.NewReader(line), "u.data", func(l string, pe func(string, ...any) error) error {
		var err error
		out, err = parseRating(strings.Fields(l), pe)
		return err
	})
	return out, err
}

// loadCSVMovies reads the movies.csv of MovieLens-20M, -25M and ml-latest
// (movieId,title,genres with a header; genres split by "|").
func loadCSVMovies(d *Data, path string) error {
	d.Genres = map[int64][]string{}
	return eachCSV(path, []string{"movieId", "title", "genres"}, func(f []string, pe func(string, ...any) error) error {
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return pe("bad movie id %q", f[0])
		}
		if f[2] != "(no genres listed)" && f[2] != "" {
			d.Genres[id] = strings.Split(f[2], "|")
		}
		return nil
	})
}

// eachCSV checks the header of a CSV file against want and calls fn on
// every record; errors name the file and line.
func eachCSV(path string, want []string, fn func(f []string, pe func(string, ...any) error) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	name := filepath.Base(path)
	r := csv.NewReader(bufio.NewReader(file))
	r.FieldsPerRecord = len(want)
	r.ReuseRecord = true
	for rec := 0; ; rec++ {
		f, err := r.Read()
		if err == io.EOF {
			if rec == 0 {
				return &ParseError{File: name, Line: 1, Msg: "empty file (want a header)"}
			}
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var perr *csv.ParseError
			if errors.As(err, &perr) {
				return &ParseError{File: name, Line: perr.Line, Msg: perr.Err.Error()}
			}
			return err
		}
		pe := func(format string, a ...any) error {
			return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, a...)}
		}
		if rec == 0 {
			if !slices.Equal(f, want) {
				return pe("header %q, want %q", strings.Join(f, ","), strings.Join(want, ","))
			}
			continue
		}
		if err := fn(f, pe); err != nil {
			return err
		}
	}
}
