package xmljson

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestXML(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"rss", `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><title>a</title></item><item><title>b</title></item></channel></rss>`,
			`{"rss":{"channel":{"item":[{"title":"a"},{"title":"b"}],"title":"T"},"version":"2.0"}}`},
		{"soap prefixes", `<soap:Envelope xmlns:soap="urn:x"><soap:Body><r a="1">text</r></soap:Body></soap:Envelope>`,
			`{"Envelope":{"Body":{"r":{"CDATA":"text","a":"1"}}}}`},
		{"empty", `<a/>`, `{"a":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := XML([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(got)
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestXMLErrors(t *testing.T) {
	for _, in := range []string{``, `just text`} {
		if _, err := XML([]byte(in)); err == nil {
			t.Errorf("XML(%q) = nil error", in)
		}
	}
}

func TestHTML(t *testing.T) {
	got, err := HTML([]byte(`<html><body><p class="x">hi<br>there</p></body></html>`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"html":{"body":{"p":{"CDATA":"hithere","br":"","class":"x"}},"head":""}}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStockRSS(t *testing.T) {
	got, err := StockRSS([]byte(`<rss><channel><item><title>One</title><link>l</link></item><item><title> Two <b>x</b></title></item></channel></rss>`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	want := `{"Items":[{"description":"","guid":"","link":"l","pubDate":"","title":"One"},{"description":"","guid":"","link":"","pubDate":"","title":"Two x"}]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestKind(t *testing.T) {
	for _, tc := range []struct{ returned, contentType, want string }{
		{"json", "text/html", "json"},
		{"", "application/rss+xml; charset=utf-8", "xml"},
		{"", "text/html", "html"},
		{"", "application/javascript", "json"},
		{"plain", "application/json", "text"},
		{"", "", "text"},
	} {
		if got := Kind(tc.returned, tc.contentType); got != tc.want {
			t.Errorf("Kind(%q, %q) = %q, want %q", tc.returned, tc.contentType, got, tc.want)
		}
	}
}

func FuzzXML(f *testing.F) {
	f.Add([]byte(`<a b="1"><c>x</c><c>y</c></a>`))
	f.Add([]byte(`<soap:Envelope xmlns:soap="u"><soap:Body/></soap:Envelope>`))
	f.Add([]byte(`<rss><channel><item><title>t</title></item></channel></rss>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, conv := range []func([]byte) (map[string]any, error){XML, HTML, StockRSS} {
			if v, err := conv(b); err == nil {
				if _, err := json.Marshal(v); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}
