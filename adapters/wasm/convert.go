package wasm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/realmgate/realmgate/adapters/xmljson"
)

// A guest may ask the http host function to convert the response as Worklight handed XML and
// HTML to JavaScript adapters (ABI.md, "Converted responses"): the request's "convert" member
// is "xml", "html", "stock-xsl" (Worklight's template filtered.xsl) or "auto" (xml or html as
// the response's Content-Type says, else no conversion). The answer then carries the document
// as "json" instead of the body, or "convertError" beside the body. The JavaScript engine module
// asks for it, so that no XML parser runs in the sandbox.

const convertNames = `"xml", "html", "stock-xsl", "auto"`

func validConvert(c string) bool {
	switch c {
	case "", "xml", "html", "stock-xsl", "auto":
		return true
	}
	return false
}

// encodeConverted is encodeHTTPResponse with the body converted as convert asks.
func encodeConverted(status int, header http.Header, body []byte, convert string) []byte {
	if convert == "auto" {
		switch xmljson.Kind("", header.Get("Content-Type")) {
		case "xml", "html":
			convert = xmljson.Kind("", header.Get("Content-Type"))
		default:
			return encodeHTTPResponse(status, header, body)
		}
	}
	var doc map[string]any
	var err error
	switch convert {
	case "xml":
		doc, err = xmljson.XML(body)
	case "html":
		doc, err = xmljson.HTML(body)
	case "stock-xsl":
		doc, err = xmljson.StockRSS(body)
	default:
		err = fmt.Errorf("convert %q is not one of %s", convert, convertNames)
	}
	if err != nil {
		b := encodeHTTPResponse(status, header, body)
		var r httpResponse
		if json.Unmarshal(b, &r) != nil || r.Error != "" {
			return b
		}
		r.ConvertError = err.Error()
		return marshalResponse(r)
	}
	r := httpResponse{Status: status, Headers: map[string]string{}, JSON: doc}
	for k, v := range header {
		r.Headers[k] = strings.Join(v, ", ")
	}
	return marshalResponse(r)
}

func marshalResponse(r httpResponse) []byte {
	b, err := json.Marshal(r)
	if err != nil {
		return httpError(err)
	}
	return b
}
