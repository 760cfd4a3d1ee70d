package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// dnKeywords are the attribute types formatDN writes by name: RFC 4514's, and SERIALNUMBER,
// which crypto/x509 also writes by name. Others are written as dotted OIDs.
var dnKeywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// rawRDNSET is a SET OF (encoding/asn1 reads slice types named *SET as SET OF).
type rawRDNSET []rawATV

// formatDN renders a DER Name as RFC 4514 says (section 2): most specific RDN first, "+"
// between the attributes of a multi-valued RDN, keywords for the types of dnKeywords with their
// string values escaped, and "OID=#hex" of the original DER for everything else, so that no
// encoding is lost.
func formatDN(der []byte) (string, error) {
	var seq []rawRDNSET
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil {
		return "", err
	}
	if len(rest) != 0 {
		return "", fmt.Errorf("data after the name")
	}
	var b strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if i != len(seq)-1 {
			b.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			oid := atv.Type.String()
			var s string
			if kw, ok := dnKeywords[oid]; ok {
				if r, err := asn1.Unmarshal(atv.Value.FullBytes, &s); err == nil && len(r) == 0 {
					b.WriteString(kw)
					b.WriteByte('=')
					b.WriteString(escapeValue(s))
					continue
				}
			}
			b.WriteString(oid)
			b.WriteString("=#")
			b.WriteString(hex.EncodeToString(atv.Value.FullBytes))
		}
	}
	return b.String(), nil
}

// ParseDN parses an RFC 4514 distinguished name ("CN=Ann,O=Example\\, Inc.,OU=Mobile+L=Paris")
// into an RDN sequence in DER order (the reverse of the string's), every value a string; see
// internal/rfc4514 for the grammar. Errors match ErrMalformed (and ErrTooLarge for an overlong
// string).
func ParseDN(s string) (pkix.RDNSequence, error) {
	seq, err := rfc4514.ParseDN(s)
	switch {
	case errors.Is(err, rfc4514.ErrTooLong):
		return nil, tooLarge("distinguished name of %d bytes; at most %d are accepted", len(s), rfc4514.MaxLength)
	case err != nil:
		return nil, fmt.Errorf("%w: %s", ErrMalformed, strings.TrimPrefix(err.Error(), rfc4514.ErrSyntax.Error()+": "))
	}
	return seq, nil
}

// escapeValue escapes an attribute value as RFC 4514 section 2.4 asks.
func escapeValue(v string) string { return rfc4514.Escape(v) }
