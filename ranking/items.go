package ranking

import (
	"errors"
	"fmt"

	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/tower"
)

// ItemPart holds, for each item of a catalogue, the ranker's first-layer
// product over its item features: the features whose value depends on the
// candidate item alone (its ID's embedding, its catalogue attributes, its
// statistics as a server holds them fixed; layout.Layout.ItemFeatures
// names them). A served request ranks hundreds of candidates, and those
// features are most of each candidate's input; with the part, ranking
// (LogitsWith, RankWith) adds each candidate's precomputed row instead of
// encoding the features and multiplying them again. The logits are the
// same up to floating-point summation order.
//
// It holds Len() × the first hidden layer's width float32s (9,565 videos ×
// 256: 9.8 MB). Build it once per model with NewItemPart; it is immutable
// and safe for concurrent use.
type ItemPart struct {
	model *Model
	item  []bool // per feature of the spec: in the part
	rows  map[int64]int32
	p     []float32 // Len() rows of the first hidden layer's width
}

// itemChunk is how many items NewItemPart asks examples for at once.
const itemChunk = 4096

// NewItemPart computes the part of the items ids over the listed features
// (indices of the model's spec, ascending, each once). examples returns
// the examples of a chunk of ids (at most 4,096 at a time, in order; only
// the listed features are read; it may reuse its memory from one chunk to
// the next), so that a large catalogue's examples never all exist at
// once. An item ID twice, a bad feature list, a chunk of the wrong length,
// or a bad value of a listed feature (an error naming the item and the
// feature) is an error.
func (m *Model) NewItemPart(features []int, ids []int64, examples func(ids []int64) []feature.Example) (*ItemPart, error) {
	F := len(m.enc.Spec.Features)
	if len(features) == 0 {
		return nil, errors.New("ranking: NewItemPart: no item features")
	}
	part := &ItemPart{model: m, item: make([]bool, F), rows: make(map[int64]int32, len(ids))}
	var runs []tower.Run
	k := 0
	for j, f := range features {
		if f < 0 || f >= F || j > 0 && f <= features[j-1] {
			return nil, fmt.Errorf("ranking: NewItemPart: features %v are not ascending indices of the spec's %d features", features, F)
		}
		part.item[f] = true
		o, w := m.enc.Columns(f)
		runs = addRun(runs, o, w)
		k += w
	}
	no := m.mlp.Sizes[1]
	part.p = make([]float32, len(ids)*no)
	x := make([]float32, min(len(ids), itemChunk)*k)
	for lo := 0; lo < len(ids); lo += itemChunk {
		chunk := ids[lo:min(lo+itemChunk, len(ids))]
		exs := examples(chunk)
		if len(exs) != len(chunk) {
			return nil, fmt.Errorf("ranking: NewItemPart: %d examples for %d items", len(exs), len(chunk))
		}
		for i, id := range chunk {
			if _, dup := part.rows[id]; dup {
				return nil, fmt.Errorf("ranking: NewItemPart: item %d appears twice", id)
			}
			part.rows[id] = int32(lo + i)
			if err := m.enc.AssembleFeatures(x[i*k:(i+1)*k], &exs[i], m.emb, features); err != nil {
				return nil, fmt.Errorf("ranking: NewItemPart: item %d: %w", id, err)
			}
		}
		m.mlp.FirstProduct(part.p[lo*no:(lo+len(chunk))*no], x[:len(chunk)*k], runs, len(chunk))
	}
	return part, nil
}

// Len is the number of items the part holds.
func (p *ItemPart) Len() int { return len(p.rows) }

// Covers reports whether LogitsWith of m on ids takes every candidate's
// item features from the part: the part was built for m and holds every
// item of ids (then examples may be built without them,
// layout.Slate.SkipItemFeatures). A nil part covers nothing.
func (p *ItemPart) Covers(m *Model, ids []int64) bool {
	if p == nil || p.model != m || len(ids) == 0 {
		return false
	}
	for _, id := range ids {
		if _, ok := p.rows[id]; !ok {
			return false
		}
	}
	return true
}

// gather points b.pre at the items' rows; false if the part lacks one.
func (p *ItemPart) gather(b *scoreBuf, ids []int64) bool {
	no := p.model.mlp.Sizes[1]
	if cap(b.pre) < len(ids) {
		b.pre = make([][]float32, len(ids))
	}
	b.pre = b.pre[:len(ids)]
	for i, id := range ids {
		r, ok := p.rows[id]
		if !ok {
			return false
		}
		b.pre[i] = p.p[int(r)*no : int(r+1)*no : int(r+1)*no]
	}
	return true
}
