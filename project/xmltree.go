package project

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bounds on configuration documents. Real Worklight files are a few kilobytes; anything near these
// limits is a mistake or an attack, and is refused with a clear error rather than read.
const (
	maxDocumentBytes = 4 << 20
	maxDepth         = 64
	maxElements      = 100_000
	maxAttrs         = 64
)

// node is an XML element with the line it starts on. The loader works on this small tree rather
// than on encoding/xml struct tags because real files vary (prefixes, unknown elements, comments,
// attribute spellings) and every diagnostic needs a line.
type node struct {
	Space, Name string // namespace URL and local name
	Attrs       []xml.Attr
	Children    []*node
	Text        string // concatenated character data directly inside the element, trimmed
	Line        int
	// AttrLines holds the line of each attribute of Attrs, in the same order: a start tag may
	// span lines, and a diagnostic about an attribute points at the attribute.
	AttrLines []int
}

// attr returns the value of the attribute with the given local name, matched case-insensitively
// (real files spell isInternalUserID several ways), and whether it was present.
func (n *node) attr(name string) (string, bool) {
	for _, a := range n.Attrs {
		if strings.EqualFold(a.Name.Local, name) && a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

// attrLine returns the line of the attribute with the given local name (matched as attr matches
// it), or the element's line when the attribute is absent.
func (n *node) attrLine(name string) int {
	for i, a := range n.Attrs {
		if strings.EqualFold(a.Name.Local, name) && a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
			if i < len(n.AttrLines) {
				return n.AttrLines[i]
			}
			break
		}
	}
	return n.Line
}

// attrLines returns the line of each attribute of a start tag, in order: the line of the tag's
// '<' plus the newlines before each attribute's '=', skipping quoted values (which may hold
// newlines and '=' of their own). The decoder has already accepted the tag, so its grammar is
// known good; a count that does not match the decoder's attributes yields nil (element lines).
func attrLines(tag []byte, line, want int) []int {
	out := make([]int, 0, want)
	for i := 0; i < len(tag); i++ {
		switch c := tag[i]; {
		case c == '"' || c == '\'':
			j := bytes.IndexByte(tag[i+1:], c)
			if j < 0 {
				return nil
			}
			line += bytes.Count(tag[i+1:i+1+j], []byte{'\n'})
			i += j + 1
		case c == '\n':
			line++
		case c == '=':
			out = append(out, line)
		}
	}
	if len(out) != want {
		return nil
	}
	return out
}

// attrAny is attr over several spellings.
func (n *node) attrAny(names ...string) (string, bool) {
	for _, name := range names {
		if v, ok := n.attr(name); ok {
			return v, true
		}
	}
	return "", false
}

// child returns the first child with the given local name (case-insensitive).
func (n *node) child(name string) *node {
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// children returns the children with the given local name (case-insensitive).
func (n *node) children(name string) []*node {
	var out []*node
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, name) {
			out = append(out, c)
		}
	}
	return out
}

// childText returns the trimmed text of the first child with that name, or "".
func (n *node) childText(name string) string {
	if c := n.child(name); c != nil {
		return c.Text
	}
	return ""
}

// XMLError is a document that could not be read; it carries the line the decoder stopped at.
type XMLError struct {
	Line int
	Err  error
}

func (e *XMLError) Error() string { return e.Err.Error() }
func (e *XMLError) Unwrap() error { return e.Err }

// parseXML reads a whole document into a tree. It accepts UTF-8 documents with or without a BOM,
// CRLF line endings, comments and processing instructions, and refuses DTDs (no entity expansion),
// documents over the size bounds and documents with more than one root.
func parseXML(data []byte) (*node, error) {
	if len(data) > maxDocumentBytes {
		return nil, &XMLError{Line: 1, Err: fmt.Errorf("document is %d bytes, more than the %d allowed", len(data), maxDocumentBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q: save the file as UTF-8", charset)
	}
	var (
		root     *node
		stack    []*node
		texts    []*strings.Builder
		elements int
	)
	for {
		line, _ := d.InputPos()
		start := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			l, _ := d.InputPos()
			return nil, &XMLError{Line: l, Err: cleanXMLError(err)}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			elements++
			if elements > maxElements {
				return nil, &XMLError{Line: line, Err: fmt.Errorf("more than %d elements", maxElements)}
			}
			if len(stack) >= maxDepth {
				return nil, &XMLError{Line: line, Err: fmt.Errorf("elements nested deeper than %d", maxDepth)}
			}
			if len(t.Attr) > maxAttrs {
				return nil, &XMLError{Line: line, Err: fmt.Errorf("element <%s> has more than %d attributes", t.Name.Local, maxAttrs)}
			}
			// line is the decoder's position before this token: the '<' of the start tag,
			// since whitespace and comments before it are tokens of their own.
			n := &node{Space: t.Name.Space, Name: t.Name.Local, Attrs: t.Attr, Line: line}
			if len(t.Attr) > 0 {
				n.AttrLines = attrLines(data[start:d.InputOffset()], line, len(t.Attr))
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, &XMLError{Line: line, Err: errors.New("more than one root element")}
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
			texts = append(texts, &strings.Builder{})
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = strings.TrimSpace(texts[len(texts)-1].String())
			stack = stack[:len(stack)-1]
			texts = texts[:len(texts)-1]
		case xml.CharData:
			if len(texts) > 0 {
				b := texts[len(texts)-1]
				if b.Len() < maxDocumentBytes {
					b.Write(t)
				}
			}
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return nil, &XMLError{Line: line, Err: errors.New("DOCTYPE declarations are not accepted")}
			}
		}
	}
	if root == nil {
		return nil, &XMLError{Line: 1, Err: errors.New("document has no root element")}
	}
	return root, nil
}

// cleanXMLError strips the decoder's "XML syntax error on line N: " prefix; the line is reported
// separately.
func cleanXMLError(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return errors.New("malformed XML: " + se.Msg)
	}
	return fmt.Errorf("malformed XML: %w", err)
}
