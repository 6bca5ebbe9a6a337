package modeldir

import (
	"io"
	"slices"

	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/layout"
)

const (
	statsMagic   = "YTST"
	statsVersion = uint32(1)
	maxStatKeys  = 1 << 28 // keys of one table
	maxStatCols  = 1000
)

// writeStats writes the running statistics at the window's end: the
// priors, then the videos' counts (IDs ascending) and each column's.
func writeStats(w io.Writer, s *layout.FixedStats) (int64, error) {
	table := func(bw *binfmt.Writer, m map[int64]layout.Counts) {
		ids := make([]int64, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		cols := [3][]float64{}
		for _, id := range ids {
			c := m[id]
			cols[0], cols[1], cols[2] = append(cols[0], c.Impressions), append(cols[1], c.Clicks), append(cols[2], c.WatchSeconds)
		}
		bw.I64s(ids)
		for _, c := range cols {
			bw.F64s(c)
		}
	}
	return binfmt.WriteContainer(w, statsMagic, statsVersion, func(bw *binfmt.Writer) {
		bw.F64(s.CTR)
		bw.F64(s.WatchPerClick)
		table(bw, s.Videos)
		names := make([]string, 0, len(s.Attributes))
		for n := range s.Attributes {
			names = append(names, n)
		}
		slices.Sort(names)
		bw.Strings(names)
		for _, n := range names {
			table(bw, s.Attributes[n])
		}
	})
}

// readStats reads what writeStats wrote, checking the counts' shapes.
func readStats(r io.Reader) (*layout.FixedStats, error) {
	return binfmt.ReadContainer(r, statsMagic, statsVersion, "statistics", func(br *binfmt.Reader) (*layout.FixedStats, error) {
		s := &layout.FixedStats{CTR: br.F64(), WatchPerClick: br.F64(), Attributes: map[string]map[int64]layout.Counts{}}
		table := func() map[int64]layout.Counts {
			ids := br.I64s(maxStatKeys)
			var cols [3][]float64
			for i := range cols {
				cols[i] = br.F64s(len(ids))
				if br.Err() == nil && len(cols[i]) != len(ids) {
					br.Fail("statistics: %d counts for %d keys", len(cols[i]), len(ids))
				}
			}
			m := make(map[int64]layout.Counts, len(ids))
			if br.Err() != nil {
				return m
			}
			for i, id := range ids {
				if _, dup := m[id]; dup {
					br.Fail("statistics: key %d twice", id)
					return m
				}
				m[id] = layout.Counts{Impressions: cols[0][i], Clicks: cols[1][i], WatchSeconds: cols[2][i]}
			}
			return m
		}
		s.Videos = table()
		names := br.Strings(maxStatCols, 1<<10)
		for _, n := range names {
			s.Attributes[n] = table()
		}
		return s, br.Err()
	})
}
