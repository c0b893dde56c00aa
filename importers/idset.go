package importers

import (
	"encoding/binary"
	"sort"
)

// idSet remembers the id and record number of every record of an import,
// so that a repeated id can be reported with the record it repeats. Ids
// that ascend — the usual order of an export — are kept as varint deltas
// in blocks of idBlockLen, two or three bytes a record; an id below the
// largest so far goes to a map (what every id cost before: ~40 bytes).
type idSet struct {
	max     int64
	lastRec int32
	n       int       // entries in the ascending log
	log     []byte    // uvarint (id delta, record delta) of every entry but a block's first
	blocks  []idBlock // the first entry of every block of the log
	other   map[int64]int32
}

const idBlockLen = 64

type idBlock struct {
	id  int64
	rec int32
	off int32 // where the block's next entries start in log
}

// add records id at record rec; when id was seen before it returns the
// earlier record's number and true, and records nothing.
func (s *idSet) add(id int64, rec int32) (int32, bool) {
	if s.n > 0 && id <= s.max {
		if prev, ok := s.find(id); ok {
			return prev, true
		}
		if s.other == nil {
			s.other = map[int64]int32{}
		}
		s.other[id] = rec
		return 0, false
	}
	if s.n%idBlockLen == 0 {
		s.blocks = append(s.blocks, idBlock{id: id, rec: rec, off: int32(len(s.log))})
	} else {
		s.log = binary.AppendUvarint(s.log, uint64(id-s.max))
		s.log = binary.AppendUvarint(s.log, uint64(rec-s.lastRec))
	}
	s.max, s.lastRec = id, rec
	s.n++
	return 0, false
}

// find looks id up among the ids recorded so far.
func (s *idSet) find(id int64) (int32, bool) {
	if rec, ok := s.other[id]; ok {
		return rec, true
	}
	// the last block starting at or before id
	b := sort.Search(len(s.blocks), func(i int) bool { return s.blocks[i].id > id }) - 1
	if b < 0 {
		return 0, false
	}
	blk := s.blocks[b]
	cur, rec := blk.id, blk.rec
	p := s.log[blk.off:]
	for k := 1; ; k++ {
		if cur == id {
			return rec, true
		}
		if cur > id || k == idBlockLen || b*idBlockLen+k == s.n {
			return 0, false
		}
		d, n := binary.Uvarint(p)
		r, m := binary.Uvarint(p[n:])
		p = p[n+m:]
		cur += int64(d)
		rec += int32(r)
	}
}
