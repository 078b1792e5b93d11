package archive

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CHECK constraints are read from the database catalog (PostgreSQL's
// pg_get_constraintdef, SQLite's CREATE TABLE text) and evaluated here on
// each archive row, so the values a constraint allows are stated once, in
// the migration. Only a small SQL subset is understood: comparisons, IN,
// = ANY (ARRAY[…]), BETWEEN, IS [NOT] NULL, AND, OR, NOT, literals and
// casts between text and numbers. A constraint outside it fails ParseCheck,
// and the installation then refuses to validate rather than promise what it
// cannot check.

// Check is one parsed CHECK constraint.
type Check struct {
	Text    string
	Columns []string // the columns it reads
	root    node
}

// ParseCheck parses a CHECK constraint's expression.
func ParseCheck(expr string) (Check, error) {
	toks, err := lex(expr)
	if err != nil {
		return Check{}, fmt.Errorf("check %s: %w", expr, err)
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	if err != nil {
		return Check{}, fmt.Errorf("check %s: %w", expr, err)
	}
	c := Check{Text: strings.Join(strings.Fields(expr), " "), root: n}
	seen := map[string]bool{}
	walk(n, func(n node) {
		if col, ok := n.(colRef); ok && !seen[string(col)] {
			seen[string(col)] = true
			c.Columns = append(c.Columns, string(col))
		}
	})
	return c, nil
}

// ParseLiteral evaluates a constant expression (a column default); ok is
// false when it is not a constant this package understands.
func ParseLiteral(expr string) (v any, ok bool) {
	toks, err := lex(expr)
	if err != nil {
		return nil, false
	}
	p := &parser{toks: toks}
	n, err := p.expr()
	if err != nil || p.pos < len(p.toks) {
		return nil, false
	}
	constant := true
	walk(n, func(n node) {
		if _, isCol := n.(colRef); isCol {
			constant = false
		}
	})
	if !constant {
		return nil, false
	}
	v, err = n.eval(nil)
	return v, err == nil
}

// Holds reports whether the row (column → typed value: nil, int64,
// float64, string, bool, time.Time) satisfies the constraint: as in SQL,
// a constraint that evaluates to NULL holds.
func (c Check) Holds(row map[string]any) bool {
	v, err := c.root.eval(row)
	if err != nil {
		return false
	}
	b, isBool := v.(bool)
	return v == nil || (isBool && b)
}

type token struct {
	kind byte // 'i' identifier, 'k' keyword, 'n' number, 's' string, 'p' punctuation
	text string
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "in": true, "between": true, "is": true,
	"null": true, "any": true, "array": true, "true": true, "false": true}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return out, nil
			}
			i += j
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i:], "*/")
			if j < 0 {
				return nil, errors.New("unterminated comment")
			}
			i += j + 2
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unterminated string")
			}
			out = append(out, token{'s', b.String()})
			i = j + 1
		case c == '"' || c == '`':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, errors.New("unterminated identifier")
			}
			out = append(out, token{'i', s[i+1 : i+1+j]})
			i += j + 2
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '+' || s[j] == '-') && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			out = append(out, token{'n', s[i:j]})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			w := strings.ToLower(s[i:j])
			if keywords[w] {
				out = append(out, token{'k', w})
			} else {
				out = append(out, token{'i', w})
			}
			i = j
		default:
			for _, op := range []string{"::", "<=", ">=", "<>", "!=", "==", "(", ")", "[", "]", ",", "=", "<", ">", "-", "+"} {
				if strings.HasPrefix(s[i:], op) {
					out = append(out, token{'p', op})
					i += len(op)
					goto next
				}
			}
			return nil, fmt.Errorf("unexpected character %q", c)
		next:
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek(kind byte, text string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == kind && p.toks[p.pos].text == text
}

func (p *parser) accept(kind byte, text string) bool {
	if p.peek(kind, text) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(kind byte, text string) error {
	if !p.accept(kind, text) {
		if p.pos < len(p.toks) {
			return fmt.Errorf("want %q, found %q", text, p.toks[p.pos].text)
		}
		return fmt.Errorf("want %q at the end", text)
	}
	return nil
}

func (p *parser) expr() (node, error) {
	l, err := p.and()
	for err == nil && p.accept('k', "or") {
		var r node
		if r, err = p.and(); err == nil {
			l = logic{or: true, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) and() (node, error) {
	l, err := p.not()
	for err == nil && p.accept('k', "and") {
		var r node
		if r, err = p.not(); err == nil {
			l = logic{l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) not() (node, error) {
	if p.accept('k', "not") {
		n, err := p.not()
		return notNode{n}, err
	}
	return p.predicate()
}

func (p *parser) predicate() (node, error) {
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	negate := p.accept('k', "not")
	switch {
	case p.accept('k', "in"):
		if err := p.expect('p', "("); err != nil {
			return nil, err
		}
		list, err := p.list(")")
		return inNode{l: l, list: list, not: negate}, err
	case p.accept('k', "between"):
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect('k', "and"); err != nil {
			return nil, err
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		n := node(logic{l: cmp{op: ">=", l: l, r: lo}, r: cmp{op: "<=", l: l, r: hi}})
		if negate {
			n = notNode{n}
		}
		return n, nil
	case negate:
		return nil, errors.New("NOT must precede IN or BETWEEN here")
	case p.accept('k', "is"):
		not := p.accept('k', "not")
		if err := p.expect('k', "null"); err != nil {
			return nil, err
		}
		return isNull{n: l, not: not}, nil
	}
	for _, op := range []string{"=", "==", "<>", "!=", "<", "<=", ">", ">="} {
		if !p.accept('p', op) {
			continue
		}
		if op == "=" && p.accept('k', "any") {
			if err := p.expect('p', "("); err != nil {
				return nil, err
			}
			if err := p.expect('k', "array"); err != nil {
				return nil, err
			}
			if err := p.expect('p', "["); err != nil {
				return nil, err
			}
			list, err := p.list("]")
			if err != nil {
				return nil, err
			}
			if err := p.casts(); err != nil {
				return nil, err
			}
			return inNode{l: l, list: list}, p.expect('p', ")")
		}
		r, err := p.operand()
		return cmp{op: op, l: l, r: r}, err
	}
	return l, nil
}

func (p *parser) list(end string) ([]node, error) {
	var out []node
	for {
		n, err := p.operand()
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.accept('p', end) {
			return out, nil
		}
		if err := p.expect('p', ","); err != nil {
			return nil, err
		}
	}
}

// casts consumes "::type" suffixes; only casts that leave a value as it is
// (text to text, a number to a number, text to json) are understood.
func (p *parser) casts() error {
	for p.accept('p', "::") {
		var words []string
		for p.pos < len(p.toks) && p.toks[p.pos].kind == 'i' {
			words = append(words, p.toks[p.pos].text)
			p.pos++
		}
		if p.accept('p', "[") {
			if err := p.expect('p', "]"); err != nil {
				return err
			}
		}
		switch strings.Join(words, " ") {
		case "text", "character varying", "varchar", "bpchar", "character", "integer", "int", "bigint", "smallint",
			"numeric", "double precision", "real", "jsonb", "json", "boolean":
		default:
			return fmt.Errorf("cast to %q is not understood", strings.Join(words, " "))
		}
	}
	return nil
}

func (p *parser) operand() (node, error) {
	if p.pos >= len(p.toks) {
		return nil, errors.New("unexpected end")
	}
	t := p.toks[p.pos]
	p.pos++
	var n node
	switch {
	case t.kind == 'p' && t.text == "(":
		inner, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect('p', ")"); err != nil {
			return nil, err
		}
		n = inner
	case t.kind == 'p' && (t.text == "-" || t.text == "+"):
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'n' {
			return nil, fmt.Errorf("unexpected %q", t.text)
		}
		v, err := number(strings.TrimPrefix(t.text, "+") + p.toks[p.pos].text)
		if err != nil {
			return nil, err
		}
		p.pos++
		n = lit{v}
	case t.kind == 'n':
		v, err := number(t.text)
		if err != nil {
			return nil, err
		}
		n = lit{v}
	case t.kind == 's':
		n = lit{t.text}
	case t.kind == 'k' && t.text == "null":
		n = lit{nil}
	case t.kind == 'k' && (t.text == "true" || t.text == "false"):
		n = lit{t.text == "true"}
	case t.kind == 'i':
		if p.peek('p', "(") {
			return nil, fmt.Errorf("function %s() is not understood", t.text)
		}
		n = colRef(t.text)
	default:
		return nil, fmt.Errorf("unexpected %q", t.text)
	}
	return n, p.casts()
}

func number(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("bad number %q", s)
	}
	return f, nil
}

type node interface {
	eval(row map[string]any) (any, error)
}

type (
	lit    struct{ v any }
	colRef string
	logic  struct {
		or   bool
		l, r node
	}
	notNode struct{ n node }
	cmp     struct {
		op   string
		l, r node
	}
	inNode struct {
		l    node
		list []node
		not  bool
	}
	isNull struct {
		n   node
		not bool
	}
)

func walk(n node, fn func(node)) {
	fn(n)
	switch x := n.(type) {
	case logic:
		walk(x.l, fn)
		walk(x.r, fn)
	case notNode:
		walk(x.n, fn)
	case cmp:
		walk(x.l, fn)
		walk(x.r, fn)
	case inNode:
		walk(x.l, fn)
		for _, e := range x.list {
			walk(e, fn)
		}
	case isNull:
		walk(x.n, fn)
	}
}

var errType = errors.New("values of different types")

func (n lit) eval(map[string]any) (any, error) { return n.v, nil }

func (n colRef) eval(row map[string]any) (any, error) { return row[string(n)], nil }

func truth(v any) (b, null bool, err error) {
	switch x := v.(type) {
	case nil:
		return false, true, nil
	case bool:
		return x, false, nil
	case int64:
		return x != 0, false, nil
	}
	return false, false, errType
}

func (n logic) eval(row map[string]any) (any, error) {
	lv, err := n.l.eval(row)
	if err != nil {
		return nil, err
	}
	rv, err := n.r.eval(row)
	if err != nil {
		return nil, err
	}
	l, ln, err := truth(lv)
	if err != nil {
		return nil, err
	}
	r, rn, err := truth(rv)
	if err != nil {
		return nil, err
	}
	if n.or {
		switch {
		case (!ln && l) || (!rn && r):
			return true, nil
		case ln || rn:
			return nil, nil
		}
		return false, nil
	}
	switch {
	case (!ln && !l) || (!rn && !r):
		return false, nil
	case ln || rn:
		return nil, nil
	}
	return true, nil
}

func (n notNode) eval(row map[string]any) (any, error) {
	v, err := n.n.eval(row)
	if err != nil {
		return nil, err
	}
	b, null, err := truth(v)
	if err != nil || null {
		return nil, err
	}
	return !b, nil
}

// compare orders two non-NULL values of one kind; timestamps compare at
// PostgreSQL's microsecond precision.
func compare(a, b any) (int, error) {
	switch x := a.(type) {
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y), nil
		case float64:
			return cmpOrdered(float64(x), y), nil
		}
	case float64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, float64(y)), nil
		case float64:
			return cmpOrdered(x, y), nil
		}
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y), nil
		}
	case bool:
		if y, ok := b.(bool); ok {
			return cmpOrdered(boolInt(x), boolInt(y)), nil
		}
	case time.Time:
		if y, ok := b.(time.Time); ok {
			return x.Truncate(time.Microsecond).Compare(y.Truncate(time.Microsecond)), nil
		}
	}
	return 0, errType
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmpOrdered[T int64 | float64 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (n cmp) eval(row map[string]any) (any, error) {
	lv, err := n.l.eval(row)
	if err != nil {
		return nil, err
	}
	rv, err := n.r.eval(row)
	if err != nil {
		return nil, err
	}
	if lv == nil || rv == nil {
		return nil, nil
	}
	c, err := compare(lv, rv)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "=", "==":
		return c == 0, nil
	case "<>", "!=":
		return c != 0, nil
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

func (n inNode) eval(row map[string]any) (any, error) {
	v, err := n.l.eval(row)
	if err != nil || v == nil {
		return nil, err
	}
	sawNull := false
	for _, e := range n.list {
		ev, err := e.eval(row)
		if err != nil {
			return nil, err
		}
		if ev == nil {
			sawNull = true
			continue
		}
		c, err := compare(v, ev)
		if err != nil {
			return nil, err
		}
		if c == 0 {
			return !n.not, nil
		}
	}
	if sawNull {
		return nil, nil
	}
	return n.not, nil
}

func (n isNull) eval(row map[string]any) (any, error) {
	v, err := n.n.eval(row)
	if err != nil {
		return nil, err
	}
	return (v == nil) != n.not, nil
}

// Allowed lists the values an IN or = ANY constraint on col allows, for
// messages; nil when the constraint is not of that form.
func (c Check) Allowed(col string) []string {
	in, ok := c.root.(inNode)
	if !ok || in.not {
		return nil
	}
	if ref, ok := in.l.(colRef); !ok || string(ref) != col {
		return nil
	}
	var out []string
	for _, e := range in.list {
		if l, ok := e.(lit); ok {
			out = append(out, fmt.Sprint(l.v))
		}
	}
	return out
}
