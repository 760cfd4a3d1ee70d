package xmljson

import (
	"strings"
)

// XSLT does not exist in pure Go, and no JavaScript adapter should bring a transformation engine
// into the sandbox for one template. Worklight's adapter template shipped one filtered.xsl, which
// most projects kept unchanged: it turns an RSS feed into {"Items": [{title, guid, link,
// description, pubDate}, ...]}. The host decides which of the adapter's XSL files are that
// stylesheet (adapters/jsapi.IsStockFilter, the same decision hostd check reports) and tells the
// engine; the engine asks the http host function for "stock-xsl", which applies it here, and
// invokeHttp with any other xslFile fails with an error naming the file.

// StockRSS does what Worklight's template filtered.xsl does to an XML document.
func StockRSS(body []byte) (map[string]any, error) {
	root, err := parseXML(body)
	if err != nil {
		return nil, err
	}
	items := []any{}
	var walk func(n *xmlNode)
	walk = func(n *xmlNode) {
		if n.name == "item" {
			item := map[string]any{}
			for _, f := range []string{"title", "guid", "link", "description", "pubDate"} {
				item[f] = ""
				for _, c := range n.children {
					if c.name == f {
						item[f] = c.textContent()
						break
					}
				}
			}
			items = append(items, item)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(root)
	return map[string]any{"Items": items}, nil
}

// textContent is the element's text and that of its descendants (XPath's string value, with
// the element's own text first).
func (n *xmlNode) textContent() string {
	var b strings.Builder
	b.WriteString(n.text.String())
	for _, c := range n.children {
		b.WriteString(c.textContent())
	}
	return strings.TrimSpace(b.String())
}
