package migrate

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// maxDocumentBytes bounds what the migration reads, as the loader bounds what it loads.
const maxDocumentBytes = 4 << 20

// elem is an element of a document with the byte spans the edits need: the start tag
// [Start, TagEnd) and the whole element [Start, End). The migration edits the document's text
// at these positions, so everything it does not touch (comments, indentation, attribute order,
// quoting) stays byte for byte.
type elem struct {
	Name     string // local name
	Attrs    []xml.Attr
	Start    int
	TagEnd   int
	End      int
	Children []*elem
}

// attr returns the value of the attribute with the local name, matched case-insensitively as the
// loader matches it.
func (e *elem) attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if strings.EqualFold(a.Name.Local, name) && a.Name.Space != "xmlns" {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

func (e *elem) children(name string) []*elem {
	var out []*elem
	for _, c := range e.Children {
		if strings.EqualFold(c.Name, name) {
			out = append(out, c)
		}
	}
	return out
}

// parse reads a document into elements with their byte offsets. It refuses DTDs and documents
// over the size bound; the loader refuses the same, so nothing it would not load is edited.
func parse(data []byte) (*elem, error) {
	if len(data) > maxDocumentBytes {
		return nil, fmt.Errorf("document is %d bytes, more than the %d allowed", len(data), maxDocumentBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil
	d.CharsetReader = func(charset string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported (use UTF-8)", charset)
	}
	var root *elem
	var stack []*elem
	for {
		start := int(d.InputOffset())
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &elem{Name: t.Name.Local, Attrs: t.Attr, Start: start, TagEnd: int(d.InputOffset())}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("more than one root element")
				}
				root = e
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("unexpected </%s>", t.Name.Local)
			}
			stack[len(stack)-1].End = int(d.InputOffset())
			stack = stack[:len(stack)-1]
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return nil, fmt.Errorf("a DOCTYPE is not accepted")
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("unclosed <%s>", stack[len(stack)-1].Name)
	}
	return root, nil
}

// edit replaces data[From:To] with Text.
type edit struct {
	From, To int
	Text     string
}

// apply applies non-overlapping edits; edits at the same position keep their order.
func apply(data []byte, edits []edit) ([]byte, error) {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].From < edits[j].From })
	var out bytes.Buffer
	at := 0
	for _, e := range edits {
		if e.From < at {
			return nil, fmt.Errorf("overlapping edits at byte %d", e.From)
		}
		out.Write(data[at:e.From])
		out.WriteString(e.Text)
		at = e.To
	}
	out.Write(data[at:])
	return out.Bytes(), nil
}

// attrRE matches one attribute of a start tag with the white space before it. Matched in
// sequence from the end of the element name, each match consumes its quoted value, so a name
// inside a value is never taken for an attribute.
var attrRE = regexp.MustCompile(`\s+([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')`)

// replaceAttr returns the edit that puts name="value" in the place of e's attribute old (the
// white space before it kept), and whether e has old.
func replaceAttr(data []byte, e *elem, old, name, value string) (edit, bool) {
	ed, ok := removeAttr(data, e, old)
	if !ok {
		return edit{}, false
	}
	for ed.From < ed.To && isSpace(data[ed.From]) {
		ed.From++
	}
	ed.Text = fmt.Sprintf(`%s="%s"`, name, escapeAttr(value))
	return ed, true
}

// removeAttr returns the edit that deletes the attribute (and the space before it) from e's
// start tag, and whether e has it.
func removeAttr(data []byte, e *elem, name string) (edit, bool) {
	tag := data[e.Start:e.TagEnd]
	nameEnd := 1
	for nameEnd < len(tag) && !isSpaceOrEnd(tag[nameEnd]) {
		nameEnd++
	}
	for _, m := range attrRE.FindAllSubmatchIndex(tag[nameEnd:], -1) {
		local := string(tag[nameEnd+m[2] : nameEnd+m[3]])
		if i := strings.IndexByte(local, ':'); i >= 0 {
			local = local[i+1:]
		}
		if strings.EqualFold(local, name) {
			return edit{From: e.Start + nameEnd + m[0], To: e.Start + nameEnd + m[1]}, true
		}
	}
	return edit{}, false
}

func isSpaceOrEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' || c == '>'
}

// addAttr returns the edit that appends name="value" to e's start tag.
func addAttr(data []byte, e *elem, name, value string) edit {
	at := e.TagEnd - 1 // the '>'
	if data[at-1] == '/' {
		at--
	}
	for at > e.Start && isSpace(data[at-1]) {
		at--
	}
	return edit{From: at, To: at, Text: fmt.Sprintf(` %s="%s"`, name, escapeAttr(value))}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// removeElem returns the edit that deletes e and, when it stands on lines of its own, those
// lines.
func removeElem(data []byte, e *elem) edit {
	from, to := e.Start, e.End
	ls := from
	for ls > 0 && (data[ls-1] == ' ' || data[ls-1] == '\t') {
		ls--
	}
	le := to
	for le < len(data) && (data[le] == ' ' || data[le] == '\t' || data[le] == '\r') {
		le++
	}
	if (ls == 0 || data[ls-1] == '\n') && (le == len(data) || data[le] == '\n') {
		from = ls
		to = le
		if to < len(data) {
			to++
		}
	}
	return edit{From: from, To: to}
}

// indentOf returns the white space that starts the line e starts on.
func indentOf(data []byte, e *elem) string {
	ls := e.Start
	for ls > 0 && (data[ls-1] == ' ' || data[ls-1] == '\t') {
		ls--
	}
	if ls > 0 && data[ls-1] != '\n' {
		return ""
	}
	return string(data[ls:e.Start])
}

// newline returns the document's line ending.
func newline(data []byte) string {
	if bytes.Contains(data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// escapeAttr escapes a value for a double-quoted attribute.
func escapeAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
