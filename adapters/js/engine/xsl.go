package main

import (
	"fmt"
	"regexp"
	"strings"
)

// XSLT does not exist in pure Go, and no JavaScript adapter should bring a transformation engine
// into the sandbox for one template. Worklight's adapter template shipped one filtered.xsl, which
// most projects kept unchanged: it turns an RSS feed into {"Items": [{title, guid, link,
// description, pubDate}, ...]}. The engine recognises that stylesheet (comments and white space
// aside) and applies it natively; invokeHttp with any other xslFile fails with an error naming the
// file.

// stockRSSFilter is Worklight's template filtered.xsl without its comments, white space
// collapsed.
const stockRSSFilter = `<?xml version="1.0" encoding="UTF-8"?> <xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:h="http://www.w3.org/1999/xhtml"> <xsl:output method="text"/> <xsl:template match="/"> { 'Items': [ <xsl:for-each select="//item"> { 'title': '<xsl:value-of select="title"/>', 'guid': '<xsl:value-of select="guid"/>', 'link': '<xsl:value-of select="link"/>', 'description': '<xsl:value-of select="description"/>', 'pubDate': '<xsl:value-of select="pubDate"/>' }, </xsl:for-each> ] } </xsl:template> </xsl:stylesheet>`

var (
	xmlComment = regexp.MustCompile(`(?s)<!--.*?-->`)
	xmlDecl    = regexp.MustCompile(`^<\?xml[^>]*\?>`)
	spaces     = regexp.MustCompile(`\s+`)
)

// normalizeXSL drops comments and the XML declaration and collapses white space.
func normalizeXSL(s string) string {
	s = xmlComment.ReplaceAllString(s, " ")
	s = spaces.ReplaceAllString(strings.TrimSpace(s), " ")
	s = strings.TrimSpace(xmlDecl.ReplaceAllString(s, ""))
	return s
}

// stockRSSNormalized is stockRSSFilter normalized.
var stockRSSNormalized = normalizeXSL(stockRSSFilter)

// IsStockFilter reports whether the stylesheet is Worklight's template filtered.xsl.
func IsStockFilter(xsl string) bool { return normalizeXSL(xsl) == stockRSSNormalized }

// transformer applies a stylesheet to an XML response.
type transformer func(body []byte) (map[string]any, error)

// xslTransformer returns the transformation for the stylesheet file of an adapter, or an error
// that names the file when the engine cannot apply it.
func xslTransformer(file string, xsl map[string]string) (transformer, error) {
	src, ok := xsl[file]
	if !ok {
		return nil, fmt.Errorf("invokeHttp: transformation xslFile %q: the adapter has no such file", file)
	}
	if !IsStockFilter(src) {
		return nil, fmt.Errorf("invokeHttp: transformation xslFile %q is not supported: the engine applies only Worklight's template filtered.xsl (RSS items); use returnedContentType 'xml' without a transformation and select the members in JavaScript", file)
	}
	return applyStockRSS, nil
}

// applyStockRSS does what Worklight's template filtered.xsl does.
func applyStockRSS(body []byte) (map[string]any, error) {
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
