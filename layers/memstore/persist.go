package memstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"riskmap/layers"
)

// Files under the data directory, per layer (the layer name escaped):
//
//	NAME.snap  magic "RMSNAP01", uint64 LE generation, upsert records in
//	           spatial order, one end record with the feature count
//	NAME.log   magic "RMLOG001", uint64 LE generation, one record per write
//
// A write appends one record to the log and fsyncs it before returning.
// Compaction writes NAME.snap.tmp, fsyncs it, renames it over NAME.snap
// with the next generation, fsyncs the directory, then replaces the log by
// an empty one of that generation the same way. Opening loads the snapshot
// and replays the log if it is of the snapshot's generation (an older log
// was already folded in by a compaction that was interrupted before it
// replaced the log). A torn or corrupt record at the log's tail is the
// trace of an interrupted write: it is dropped and cut off.
const (
	snapMagic  = "RMSNAP01"
	logMagic   = "RMLOG001"
	fileHeader = 16
	snapExt    = ".snap"
	logExt     = ".log"
	tmpExt     = ".tmp"
	lockName   = "LOCK"

	// defaultCompactAt is the least log size worth compacting.
	defaultCompactAt = 4 << 20
	// snapChunk is the number of features per snapshot record.
	snapChunk = 256
)

// ErrCorrupt is wrapped by the error Open returns when a snapshot or the
// body of a log cannot be read: the data directory needs attention.
var ErrCorrupt = errors.New("memstore: corrupt data file")

// Options tune a persisted store.
type Options struct {
	// CompactAt is the least size in bytes a layer's log must reach
	// before it is folded into the snapshot; the log must also be larger
	// than the snapshot, which keeps rewriting amortised. 0 means 4 MiB.
	CompactAt int64

	// compactAlways folds the log into the snapshot after every write
	// (crash tests).
	compactAlways bool
}

// disk is the persistence of a store opened on a directory. Every field is
// guarded by the store's writer lock.
type disk struct {
	dir   string
	opts  Options
	lock  *os.File
	files map[string]*layerFiles
	// err is a failure that left the on-disk state unknown (a log that
	// could not be cut back after a failed append): writes are refused.
	err error
}

// layerFiles are the open log and sizes of one layer.
type layerFiles struct {
	base     string // path without extension
	log      *os.File
	logSize  int64
	snapSize int64
	gen      uint64
}

// escapeName maps a layer name to a file name: letters, digits, '_' and
// '-' stay, every other byte becomes %XX.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unescapeName(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		c, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(c))
		i += 2
	}
	return b.String(), b.Len() > 0
}

func header(magic string, gen uint64) []byte {
	return binary.LittleEndian.AppendUint64([]byte(magic), gen)
}

func readHeader(b []byte, magic string) (uint64, bool) {
	if len(b) < fileHeader || string(b[:8]) != magic {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[8:]), true
}

// openDisk locks dir and loads every layer found in it into idx.
func openDisk(dir string, opts Options, idx map[string]*index) (_ *disk, err error) {
	if opts.CompactAt <= 0 {
		opts.CompactAt = defaultCompactAt
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, fmt.Errorf("memstore: %s is in use: %w: %w", dir, layers.ErrUnavailable, err)
	}
	d := &disk{dir: dir, opts: opts, lock: lock, files: map[string]*layerFiles{}}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		switch {
		case strings.HasSuffix(n, tmpExt):
			// a compaction that never reached its rename
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return nil, fmt.Errorf("memstore: %w", err)
			}
		case strings.HasSuffix(n, snapExt), strings.HasSuffix(n, logExt):
			if layer, ok := unescapeName(strings.TrimSuffix(strings.TrimSuffix(n, snapExt), logExt)); ok {
				names[layer] = true
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		ix := newIndex()
		lf, err := d.load(name, ix)
		if err != nil {
			return nil, err
		}
		d.files[name] = lf
		if len(ix.items) > 0 || lf.logSize > fileHeader || lf.snapSize > 0 {
			idx[name] = ix
		}
	}
	return d, nil
}

// load reads one layer's snapshot and log into ix and opens the log for
// appending.
func (d *disk) load(name string, ix *index) (*layerFiles, error) {
	lf := &layerFiles{base: filepath.Join(d.dir, escapeName(name))}
	snap, err := os.ReadFile(lf.base + snapExt)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("memstore: %w", err)
	default:
		if lf.gen, err = loadSnapshot(snap, name, ix); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, lf.base+snapExt, err)
		}
		lf.snapSize = int64(len(snap))
	}
	logb, err := os.ReadFile(lf.base + logExt)
	if errors.Is(err, fs.ErrNotExist) {
		return lf, d.newLog(lf, lf.gen)
	}
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	gen, ok := readHeader(logb, logMagic)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s: bad header", ErrCorrupt, lf.base+logExt)
	case gen < lf.gen:
		// already folded into the snapshot
		return lf, d.newLog(lf, lf.gen)
	case gen > lf.gen:
		return nil, fmt.Errorf("%w: %s: generation %d is ahead of the snapshot's %d", ErrCorrupt, lf.base+logExt, gen, lf.gen)
	}
	good := fileHeader
	rest := logb[fileHeader:]
	for len(rest) > 0 {
		payload, next, ok := nextFrame(rest)
		if !ok {
			break // torn or corrupt tail
		}
		r, err := decodeRecord(payload)
		if err != nil {
			// the checksum holds, so this is not a torn write
			return nil, fmt.Errorf("%w: %s at offset %d: %w", ErrCorrupt, lf.base+logExt, good, err)
		}
		apply(ix, r, name)
		good += len(rest) - len(next)
		rest = next
	}
	f, err := os.OpenFile(lf.base+logExt, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("memstore: %w", err)
	}
	if good < len(logb) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, fmt.Errorf("memstore: cut torn tail of %s: %w", f.Name(), err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("memstore: %w", err)
		}
	}
	if _, err := f.Seek(int64(good), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("memstore: %w", err)
	}
	lf.log, lf.logSize = f, int64(good)
	return lf, nil
}

// loadSnapshot reads a snapshot into ix and returns its generation.
func loadSnapshot(b []byte, name string, ix *index) (uint64, error) {
	gen, ok := readHeader(b, snapMagic)
	if !ok {
		return 0, errors.New("bad header")
	}
	rest := b[fileHeader:]
	for {
		off := len(b) - len(rest)
		payload, next, ok := nextFrame(rest)
		if !ok {
			return 0, fmt.Errorf("bad record at offset %d", off)
		}
		r, err := decodeRecord(payload)
		if err != nil {
			return 0, fmt.Errorf("offset %d: %w", off, err)
		}
		rest = next
		switch r.op {
		case opUpsert:
			apply(ix, r, name)
		case opEnd:
			if r.n != uint64(len(ix.items)) {
				return 0, fmt.Errorf("holds %d features, its end record says %d", len(ix.items), r.n)
			}
			if len(rest) != 0 {
				return 0, fmt.Errorf("%d bytes after the end record", len(rest))
			}
			return gen, nil
		default:
			return 0, fmt.Errorf("unexpected op %d at offset %d", r.op, off)
		}
	}
}

func apply(ix *index, r record, layer string) {
	switch r.op {
	case opUpsert:
		for _, f := range r.fs {
			f.Layer = layer
			ix.put(f)
		}
	case opDelete:
		for _, id := range r.ids {
			ix.remove(id)
		}
	}
}

// newLog replaces the layer's log by an empty one of generation gen.
func (d *disk) newLog(lf *layerFiles, gen uint64) error {
	path := lf.base + logExt
	if err := writeFileSync(path, header(logMagic, gen)); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	if _, err := f.Seek(fileHeader, 0); err != nil {
		f.Close()
		return fmt.Errorf("memstore: %w", err)
	}
	if lf.log != nil {
		lf.log.Close()
	}
	lf.log, lf.logSize, lf.gen = f, fileHeader, gen
	return d.syncDir()
}

// writeFileSync writes path atomically: a temporary file, fsync, rename.
// The caller fsyncs the directory.
func writeFileSync(path string, data []byte) error {
	return writeAtomic(path, func(w *bufio.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func writeAtomic(path string, fill func(*bufio.Writer) error) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("memstore: write %s: %w", path, err)
	}
	return nil
}

func (d *disk) syncDir() error {
	f, err := os.Open(d.dir)
	if err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("memstore: sync %s: %w", d.dir, err)
	}
	return nil
}

// files returns the layer's files, creating an empty log for a new layer.
func (d *disk) layer(name string) (*layerFiles, error) {
	if lf, ok := d.files[name]; ok {
		return lf, nil
	}
	lf := &layerFiles{base: filepath.Join(d.dir, escapeName(name))}
	if err := d.newLog(lf, 0); err != nil {
		return nil, err
	}
	d.files[name] = lf
	return lf, nil
}

// append writes one framed record to the layer's log and fsyncs it. On
// failure the log is cut back so that later records are not stranded
// behind a torn one.
func (d *disk) append(name string, payload []byte) error {
	if d.err != nil {
		return fmt.Errorf("memstore: refusing writes after an earlier failure: %w: %w", layers.ErrUnavailable, d.err)
	}
	lf, err := d.layer(name)
	if err != nil {
		return err
	}
	frame := appendFrame(make([]byte, 0, frameHeader+len(payload)), payload)
	_, err = lf.log.Write(frame)
	if err == nil {
		err = lf.log.Sync()
	}
	if err != nil {
		if terr := lf.log.Truncate(lf.logSize); terr != nil {
			d.err = terr
		} else if _, serr := lf.log.Seek(lf.logSize, 0); serr != nil {
			d.err = serr
		}
		return fmt.Errorf("memstore: append to %s: %w", lf.log.Name(), err)
	}
	lf.logSize += int64(len(frame))
	return nil
}

// due reports whether the layer's log should be folded into its snapshot.
func (d *disk) due(name string) bool {
	lf := d.files[name]
	if lf == nil || lf.logSize <= fileHeader {
		return false
	}
	return d.opts.compactAlways || lf.logSize > d.opts.CompactAt && lf.logSize > lf.snapSize
}

// compact writes a new snapshot of ix (the caller holds the writer lock,
// so ix does not change) and starts an empty log.
func (d *disk) compact(name string, ix *index) error {
	all := make([]*item, 0, len(ix.items))
	for _, it := range ix.items {
		all = append(all, it)
	}
	return d.snapshot(name, all)
}

// snapshot writes a new snapshot holding exactly all (one item per id;
// the caller holds the writer lock) and starts an empty log.
func (d *disk) snapshot(name string, all []*item) error {
	lf, err := d.layer(name)
	if err != nil {
		return err
	}
	// in spatial order, so that a store loading it lays features out in
	// memory as they lie on the ground (see spatialKey)
	items := make([]*item, len(all))
	for i, j := range spatialOrder(len(all), func(i int) orb.Bound { return all[i].b }) {
		items[i] = all[j]
	}
	gen := lf.gen + 1
	var size int64
	err = writeAtomic(lf.base+snapExt, func(w *bufio.Writer) error {
		var buf, frame []byte
		n, err := w.Write(header(snapMagic, gen))
		size += int64(n)
		fs := make([]layers.Feature, 0, snapChunk)
		for len(items) > 0 && err == nil {
			fs = fs[:0]
			for _, it := range items[:min(snapChunk, len(items))] {
				fs = append(fs, it.lend())
			}
			items = items[len(fs):]
			if buf, err = encodeUpsert(buf[:0], fs); err != nil {
				return err
			}
			frame = appendFrame(frame[:0], buf)
			n, err = w.Write(frame)
			size += int64(n)
		}
		if err == nil {
			frame = appendFrame(frame[:0], encodeEnd(len(all)))
			n, err = w.Write(frame)
			size += int64(n)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := d.syncDir(); err != nil {
		return err
	}
	lf.snapSize = size
	if err := d.newLog(lf, gen); err != nil {
		// the snapshot of generation gen holds everything, but the open
		// log is of the previous one and would be ignored on reopening:
		// nothing more may be appended to it.
		d.err = err
		return err
	}
	return nil
}

// close releases the files and the directory lock.
func (d *disk) close() error {
	var errs []error
	for _, lf := range d.files {
		if lf.log != nil {
			errs = append(errs, lf.log.Close())
			lf.log = nil
		}
	}
	errs = append(errs, d.lock.Close())
	return errors.Join(errs...)
}
