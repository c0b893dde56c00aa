// Package cql parses the basic CQL2-text filters of OGC API – Features
// Part 3 that riskmap serves: comparisons (= <> < <= > >=), AND, OR, NOT,
// parentheses, IN, LIKE, IS [NOT] NULL, BETWEEN, S_INTERSECTS with a WKT
// geometry or a BBOX, and S_DWITHIN with a distance in metres on the
// ground.
//
// Parse makes the syntax tree; Bind checks it against a layer's schema
// (unknown property → an error naming it), coerces its literals to the
// field types, and returns a Filter that matches features in Go and tells
// a store the bbox and property filters it can apply first.
package cql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"riskmap/layers"
)

// Bounds on a filter.
const (
	MaxLen   = 8192 // characters of filter text
	MaxDepth = 32   // nesting of parentheses and NOT
	MaxList  = 1000 // values of an IN list
)

// Expr is a node of the syntax tree.
type Expr interface{ expr() }

type (
	// And holds when both sides hold.
	And struct{ L, R Expr }
	// Or holds when either side holds.
	Or struct{ L, R Expr }
	// Not holds when X does not.
	Not struct{ X Expr }
	// Compare is Prop Op Value; Op is one of = <> < <= > >=.
	Compare struct {
		Prop  string
		Op    layers.Op
		Value any
	}
	// In is Prop IN (Values…).
	In struct {
		Prop   string
		Values []any
	}
	// Like is Prop LIKE Pattern: % any run of characters, _ one.
	Like struct{ Prop, Pattern string }
	// IsNull is Prop IS NULL.
	IsNull struct{ Prop string }
	// Between is Prop BETWEEN Lo AND Hi, both included.
	Between struct {
		Prop   string
		Lo, Hi any
	}
	// Intersects is S_INTERSECTS(geometry, Geom).
	Intersects struct{ Geom orb.Geometry }
	// DWithin is S_DWITHIN(geometry, Geom, Metres): some part of the
	// feature within Metres of Geom on the ground.
	DWithin struct {
		Geom   orb.Geometry
		Metres float64
	}
)

func (And) expr()        {}
func (Or) expr()         {}
func (Not) expr()        {}
func (Compare) expr()    {}
func (In) expr()         {}
func (Like) expr()       {}
func (IsNull) expr()     {}
func (Between) expr()    {}
func (Intersects) expr() {}
func (DWithin) expr()    {}

// GeometryProp is the name of the feature geometry in spatial predicates.
const GeometryProp = "geometry"

// Parse reads a CQL2-text filter. Literals are strings, numbers
// (float64), TRUE/FALSE, DATE('…') and TIMESTAMP('…') (as their text).
// Errors wrap layers.ErrInvalid and give the character offset.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLen {
		return nil, fmt.Errorf("%w: filter is %d characters long; at most %d are allowed", layers.ErrInvalid, len(s), MaxLen)
	}
	p := &parser{src: s}
	p.next()
	e := p.or(0)
	if p.err == nil && p.tok.kind != tEOF {
		p.fail("unexpected %s", p.tok)
	}
	if p.err != nil {
		return nil, p.err
	}
	return e, nil
}

type kind int

const (
	tEOF kind = iota
	tIdent
	tString
	tNumber
	tPunct // ( ) ,
	tOp    // = <> != < <= > >=
	tBad
)

type token struct {
	kind     kind
	text     string // identifiers upper-cased in up, raw in text
	up       string
	pos, end int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return fmt.Sprintf("string '%s'", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type parser struct {
	src string
	pos int
	tok token
	err error
}

func (p *parser) fail(format string, a ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: filter: at character %d: %s", layers.ErrInvalid, p.tok.pos+1, fmt.Sprintf(format, a...))
	}
	p.tok = token{kind: tEOF, pos: len(p.src)}
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '.' || c == ':' }

// next reads the next token into p.tok.
func (p *parser) next() {
	if p.err != nil {
		return
	}
	s := p.src
	for p.pos < len(s) && strings.IndexByte(" \t\r\n", s[p.pos]) >= 0 {
		p.pos++
	}
	start := p.pos
	if p.pos >= len(s) {
		p.tok = token{kind: tEOF, pos: start, end: start}
		return
	}
	c := s[p.pos]
	switch {
	case c == '\'':
		var b strings.Builder
		p.pos++
		for {
			if p.pos >= len(s) {
				p.tok = token{pos: start}
				p.fail("unterminated string")
				return
			}
			if s[p.pos] == '\'' {
				if p.pos+1 < len(s) && s[p.pos+1] == '\'' {
					b.WriteByte('\'')
					p.pos += 2
					continue
				}
				p.pos++
				break
			}
			b.WriteByte(s[p.pos])
			p.pos++
		}
		p.tok = token{kind: tString, text: b.String(), pos: start, end: p.pos}
	case c == '"':
		end := strings.IndexByte(s[p.pos+1:], '"')
		if end < 0 {
			p.tok = token{pos: start}
			p.fail("unterminated quoted name")
			return
		}
		name := s[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		p.tok = token{kind: tIdent, text: name, up: "\"" + name, pos: start, end: p.pos} // never a keyword
	case isIdentStart(c):
		for p.pos < len(s) && isIdentPart(s[p.pos]) {
			p.pos++
		}
		t := s[start:p.pos]
		p.tok = token{kind: tIdent, text: t, up: strings.ToUpper(t), pos: start, end: p.pos}
	case c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+':
		p.pos++
		for p.pos < len(s) && (s[p.pos] >= '0' && s[p.pos] <= '9' || s[p.pos] == '.' ||
			s[p.pos] == 'e' || s[p.pos] == 'E' ||
			(s[p.pos] == '-' || s[p.pos] == '+') && (s[p.pos-1] == 'e' || s[p.pos-1] == 'E')) {
			p.pos++
		}
		p.tok = token{kind: tNumber, text: s[start:p.pos], pos: start, end: p.pos}
	case c == '(' || c == ')' || c == ',':
		p.pos++
		p.tok = token{kind: tPunct, text: string(c), pos: start, end: p.pos}
	case c == '=' || c == '<' || c == '>' || c == '!':
		p.pos++
		if p.pos < len(s) && (s[p.pos] == '=' || c == '<' && s[p.pos] == '>') {
			p.pos++
		}
		t := s[start:p.pos]
		if t == "!" {
			p.tok = token{pos: start}
			p.fail("unexpected \"!\"")
			return
		}
		if t == "!=" {
			t = "<>"
		}
		p.tok = token{kind: tOp, text: t, pos: start, end: p.pos}
	default:
		p.tok = token{kind: tBad, text: string(c), pos: start}
		p.fail("unexpected character %q", c)
	}
}

func (p *parser) keyword(k string) bool { return p.tok.kind == tIdent && p.tok.up == k }

func (p *parser) accept(k string) bool {
	if p.keyword(k) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(punct string) {
	if p.tok.kind == tPunct && p.tok.text == punct {
		p.next()
		return
	}
	p.fail("expected %q, found %s", punct, p.tok)
}

func (p *parser) or(depth int) Expr {
	e := p.and(depth)
	for p.err == nil && p.accept("OR") {
		e = Or{e, p.and(depth)}
	}
	return e
}

func (p *parser) and(depth int) Expr {
	e := p.not(depth)
	for p.err == nil && p.accept("AND") {
		e = And{e, p.not(depth)}
	}
	return e
}

func (p *parser) not(depth int) Expr {
	if depth > MaxDepth {
		p.fail("filter nests deeper than %d", MaxDepth)
		return nil
	}
	if p.accept("NOT") {
		return Not{p.not(depth + 1)}
	}
	return p.primary(depth)
}

func (p *parser) primary(depth int) Expr {
	if p.tok.kind == tPunct && p.tok.text == "(" {
		p.next()
		e := p.or(depth + 1)
		p.expect(")")
		return e
	}
	if p.tok.kind != tIdent {
		p.fail("expected a property or a spatial predicate, found %s", p.tok)
		return nil
	}
	switch p.tok.up {
	case "S_INTERSECTS", "S_DWITHIN":
		return p.spatial()
	case "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "BETWEEN", "TRUE", "FALSE":
		p.fail("expected a property, found keyword %s", p.tok.text)
		return nil
	}
	prop := p.tok.text
	p.next()
	switch {
	case p.tok.kind == tOp:
		op := layers.Op(p.tok.text)
		p.next()
		return Compare{prop, op, p.literal()}
	case p.accept("IS"):
		neg := p.accept("NOT")
		if !p.accept("NULL") {
			p.fail("expected NULL, found %s", p.tok)
		}
		return negate(IsNull{prop}, neg)
	}
	neg := p.accept("NOT")
	switch {
	case p.accept("IN"):
		p.expect("(")
		var vals []any
		for p.err == nil {
			vals = append(vals, p.literal())
			if len(vals) > MaxList {
				p.fail("IN lists at most %d values", MaxList)
			}
			if p.tok.kind == tPunct && p.tok.text == "," {
				p.next()
				continue
			}
			break
		}
		p.expect(")")
		return negate(In{prop, vals}, neg)
	case p.accept("LIKE"):
		if p.tok.kind != tString {
			p.fail("LIKE needs a string pattern, found %s", p.tok)
			return nil
		}
		pat := p.tok.text
		p.next()
		return negate(Like{prop, pat}, neg)
	case p.accept("BETWEEN"):
		lo := p.literal()
		if !p.accept("AND") {
			p.fail("expected AND of BETWEEN, found %s", p.tok)
		}
		return negate(Between{prop, lo, p.literal()}, neg)
	}
	p.fail("expected a comparison, IN, LIKE, BETWEEN or IS NULL after %q, found %s", prop, p.tok)
	return nil
}

func negate(e Expr, neg bool) Expr {
	if neg {
		return Not{e}
	}
	return e
}

// literal reads a string, number, boolean or DATE/TIMESTAMP('…').
func (p *parser) literal() any {
	t := p.tok
	switch t.kind {
	case tString:
		p.next()
		return t.text
	case tNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			p.fail("%q is not a number", t.text)
			return nil
		}
		p.next()
		return f
	case tIdent:
		switch t.up {
		case "TRUE", "FALSE":
			p.next()
			return t.up == "TRUE"
		case "DATE", "TIMESTAMP":
			p.next()
			p.expect("(")
			if p.tok.kind != tString {
				p.fail("%s needs a string, found %s", t.up, p.tok)
				return nil
			}
			v := p.tok.text
			p.next()
			p.expect(")")
			return v
		}
	}
	p.fail("expected a value, found %s", t)
	return nil
}

// spatial reads S_INTERSECTS(geometry, g) or S_DWITHIN(geometry, g, m[, unit]),
// the geometry property on either side.
func (p *parser) spatial() Expr {
	fn := p.tok.up
	p.next()
	p.expect("(")
	var g orb.Geometry
	prop := false
	for i := range 2 {
		if i == 1 {
			p.expect(",")
		}
		if p.tok.kind == tIdent && strings.EqualFold(strings.TrimPrefix(p.tok.up, "\""), GeometryProp) && !prop {
			prop = true
			p.next()
			continue
		}
		g = p.geometry()
	}
	if p.err == nil && (!prop || g == nil) {
		p.fail("%s compares the property %q with a geometry literal", fn, GeometryProp)
		return nil
	}
	if fn == "S_INTERSECTS" {
		p.expect(")")
		return Intersects{g}
	}
	p.expect(",")
	t := p.tok
	m, err := strconv.ParseFloat(t.text, 64)
	if t.kind != tNumber || err != nil || !(m >= 0) || m > 1e6 {
		p.fail("S_DWITHIN needs a distance in metres from 0 to 1000000, found %s", t)
		return nil
	}
	p.next()
	if p.tok.kind == tPunct && p.tok.text == "," {
		p.next()
		u := strings.ToLower(p.tok.text)
		if (p.tok.kind != tIdent && p.tok.kind != tString) || u != "meters" && u != "metres" && u != "m" {
			p.fail("S_DWITHIN measures in meters, found %s", p.tok)
			return nil
		}
		p.next()
	}
	p.expect(")")
	return DWithin{g, m}
}

// geometry reads a WKT literal or BBOX(minLon, minLat, maxLon, maxLat).
func (p *parser) geometry() orb.Geometry {
	t := p.tok
	if t.kind != tIdent {
		p.fail("expected a geometry (WKT or BBOX), found %s", t)
		return nil
	}
	switch t.up {
	case "BBOX":
		p.next()
		p.expect("(")
		var v [4]float64
		for i := range v {
			if i > 0 {
				p.expect(",")
			}
			f, err := strconv.ParseFloat(p.tok.text, 64)
			if p.tok.kind != tNumber || err != nil {
				p.fail("BBOX needs 4 numbers, found %s", p.tok)
				return nil
			}
			v[i] = f
			p.next()
		}
		p.expect(")")
		b := orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}
		if err := layers.ValidateBBox(b); err != nil {
			p.fail("%v", err)
			return nil
		}
		return b.ToPolygon()
	case "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON":
	default:
		p.fail("expected %q or a geometry (POINT, LINESTRING, POLYGON, their MULTI forms or BBOX), found %s", GeometryProp, t)
		return nil
	}
	// the WKT runs to the parenthesis that closes its first one
	i, depth := t.end, 0
	for ; i < len(p.src); i++ {
		if c := p.src[i]; c == '(' {
			depth++
		} else if c == ')' {
			depth--
			if depth == 0 {
				break
			}
		} else if depth == 0 && strings.IndexByte(" \t\r\n", c) < 0 {
			break
		}
	}
	if depth != 0 || i >= len(p.src) {
		p.fail("unterminated %s", t.up)
		return nil
	}
	text := p.src[t.pos : i+1]
	g, err := wkt.Unmarshal(text)
	if err != nil {
		p.fail("%s: %v", t.up, err)
		return nil
	}
	if err := checkCoords(g); err != nil {
		p.fail("%s: %v", t.up, err)
		return nil
	}
	p.pos = i + 1
	p.next()
	return g
}

// checkCoords refuses empty geometries and coordinates outside lon/lat range.
func checkCoords(g orb.Geometry) error {
	n := 0
	var bad error
	var visit func(orb.Geometry)
	visit = func(g orb.Geometry) {
		switch x := g.(type) {
		case orb.Point:
			n++
			if !(x[0] >= -180 && x[0] <= 180 && x[1] >= -90 && x[1] <= 90) {
				bad = fmt.Errorf("coordinate %v, %v is not a longitude, latitude", x[0], x[1])
			}
		case orb.MultiPoint:
			for _, q := range x {
				visit(q)
			}
		case orb.LineString:
			visit(orb.MultiPoint(x))
		case orb.MultiLineString:
			for _, l := range x {
				visit(orb.MultiPoint(l))
			}
		case orb.Polygon:
			for _, r := range x {
				visit(orb.MultiPoint(r))
			}
		case orb.MultiPolygon:
			for _, q := range x {
				visit(q)
			}
		}
	}
	visit(g)
	if bad != nil {
		return bad
	}
	if n == 0 {
		return fmt.Errorf("empty geometry")
	}
	return nil
}
