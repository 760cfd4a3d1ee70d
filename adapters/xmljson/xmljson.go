// Package xmljson converts XML and HTML documents to JSON as Worklight handed them to JavaScript
// adapters, and applies Worklight's template filtered.xsl. The wasm host's http function runs it
// for a guest that asks (the request's "convert" member, sdk-wasm/ABI.md): the JavaScript engine
// module gets the document as JSON, and no XML parser runs in the sandbox.
package xmljson

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// Worklight handed an adapter an XML or HTML response as a JavaScript object, which real
// adapters read as result.rss.channel.item or result.Envelope.Body. The conversion is Worklight's:
//
//   - the document is an object with one member, the root element's local name (namespace
//     prefixes dropped: soap:Envelope is Envelope);
//   - an element with neither attributes nor child elements is its text, a string;
//   - any other element is an object: each attribute a string member, each child element a
//     member by its local name, an array when the name repeats, and its non-blank text, if any,
//     in the member "CDATA".

// xmlNode is an element on its way to JSON.
type xmlNode struct {
	name     string
	attrs    [][2]string
	children []*xmlNode
	text     strings.Builder
}

// maxXMLDepth bounds the nesting of a converted document.
const maxXMLDepth = 256

// Kind is how invokeHttp reads a response: "json", "xml", "html" or "text", from its
// returnedContentType or else the response's Content-Type.
func Kind(returned, contentType string) string {
	t := strings.ToLower(returned)
	if t == "" {
		t = strings.ToLower(contentType)
	}
	switch {
	case strings.Contains(t, "json") || strings.Contains(t, "javascript"):
		return "json"
	case strings.Contains(t, "html"):
		return "html"
	case strings.Contains(t, "xml"):
		return "xml"
	}
	return "text"
}

// XML converts an XML document.
func XML(body []byte) (map[string]any, error) {
	root, err := parseXML(body)
	if err != nil {
		return nil, err
	}
	return map[string]any{root.name: root.value()}, nil
}

// parseXML parses an XML document leniently (HTML entities and unclosed elements
// are accepted, as they were in Worklight) into its root element.
func parseXML(body []byte) (*xmlNode, error) {
	d := xml.NewDecoder(strings.NewReader(string(body)))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the response is not XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("the response nests elements deeper than %d", maxXMLDepth)
			}
			n := &xmlNode{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue
				}
				n.attrs = append(n.attrs, [2]string{a.Name.Local, a.Value})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("the response has no XML element")
	}
	return root, nil
}

// HTML converts an HTML document as Worklight did: parsed leniently into elements, then
// converted as XML is. Scripts and styles are kept as text.
func HTML(body []byte) (map[string]any, error) {
	doc, err := html.Parse(strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("the response is not HTML: %w", err)
	}
	var conv func(h *html.Node, depth int) *xmlNode
	conv = func(h *html.Node, depth int) *xmlNode {
		n := &xmlNode{name: h.Data}
		for _, a := range h.Attr {
			n.attrs = append(n.attrs, [2]string{a.Key, a.Val})
		}
		for c := h.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.ElementNode:
				if depth < maxXMLDepth {
					n.children = append(n.children, conv(c, depth+1))
				}
			case html.TextNode:
				n.text.WriteString(c.Data)
			}
		}
		return n
	}
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			root := conv(c, 0)
			return map[string]any{root.name: root.value()}, nil
		}
	}
	return nil, errors.New("the response has no HTML element")
}

func (n *xmlNode) value() any {
	text := strings.TrimSpace(n.text.String())
	if len(n.attrs) == 0 && len(n.children) == 0 {
		return text
	}
	obj := map[string]any{}
	for _, a := range n.attrs {
		obj[a[0]] = a[1]
	}
	counts := map[string]int{}
	for _, c := range n.children {
		counts[c.name]++
	}
	for _, c := range n.children {
		v := c.value()
		if counts[c.name] > 1 {
			arr, _ := obj[c.name].([]any)
			obj[c.name] = append(arr, v)
			continue
		}
		obj[c.name] = v
	}
	if text != "" {
		obj["CDATA"] = text
	}
	return obj
}
