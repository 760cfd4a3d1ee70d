// Package rfc4514 reads and writes the string form of X.509 distinguished names (RFC 4514), the
// one grammar the server (pki, and the PKI-bridge objects of adapters) and the Go client share,
// so that a subject the client builds from a CSR requirement is the subject the server checks,
// and the subject a bridge is shown is written the way both read it.
package rfc4514

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLength bounds the strings ParseDN reads.
const MaxLength = 4 << 10

// Errors of ParseDN, for errors.Is.
var (
	ErrSyntax  = errors.New("malformed distinguished name")
	ErrTooLong = errors.New("distinguished name too long")
)

// AttributeTypes maps the attribute type names of RFC 4514 section 3 and a few common others
// (upper case) to their OIDs.
var AttributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           {2, 5, 4, 3},
	"SN":           {2, 5, 4, 4},
	"SURNAME":      {2, 5, 4, 4},
	"SERIALNUMBER": {2, 5, 4, 5},
	"C":            {2, 5, 4, 6},
	"L":            {2, 5, 4, 7},
	"ST":           {2, 5, 4, 8},
	"STREET":       {2, 5, 4, 9},
	"O":            {2, 5, 4, 10},
	"OU":           {2, 5, 4, 11},
	"TITLE":        {2, 5, 4, 12},
	"POSTALCODE":   {2, 5, 4, 17},
	"GIVENNAME":    {2, 5, 4, 42},
	"INITIALS":     {2, 5, 4, 43},
	"DNQUALIFIER":  {2, 5, 4, 46},
	"PSEUDONYM":    {2, 5, 4, 65},
	"DC":           {0, 9, 2342, 19200300, 100, 1, 25},
	"UID":          {0, 9, 2342, 19200300, 100, 1, 1},
	"EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
	"E":            {1, 2, 840, 113549, 1, 9, 1},
}

// ParseDN parses an RFC 4514 distinguished name ("CN=Ann,O=Example\, Inc.,OU=Mobile+L=Paris")
// into an RDN sequence in DER order (the reverse of the string's), every value a string.
//
// It reads the RFC 4514 grammar with the leniency of RFC 2253 readers: spaces around separators
// and '=' are ignored, and ';' separates RDNs like ','. Values may use backslash escapes of
// special characters or of hex pairs (UTF-8 bytes), or the "#" hex form of a DER string.
// Attribute types are the names of RFC 4514 (CN, L, ST, O, OU, C, STREET, DC, UID) and a few
// more (SERIALNUMBER, TITLE, EMAILADDRESS, ...), or dotted OIDs. Multi-valued RDNs ("+") are kept.
// An empty string is an empty sequence.
func ParseDN(s string) (pkix.RDNSequence, error) {
	if len(s) > MaxLength {
		return nil, fmt.Errorf("%w: distinguished name of %d bytes; at most %d are accepted", ErrTooLong, len(s), MaxLength)
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := dnParser{s: s}
	var seq pkix.RDNSequence
	var rdn pkix.RelativeDistinguishedNameSET
	for {
		atv, err := p.attribute()
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, atv)
		p.spaces()
		if p.eof() {
			seq = append(seq, rdn)
			break
		}
		switch c := p.s[p.i]; c {
		case '+':
		case ',', ';':
			seq = append(seq, rdn)
			rdn = nil
		default:
			return nil, p.errorf("unexpected %q", c)
		}
		p.i++
	}
	// DER order is the reverse of the string order.
	for i, j := 0, len(seq)-1; i < j; i, j = i+1, j-1 {
		seq[i], seq[j] = seq[j], seq[i]
	}
	return seq, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) eof() bool { return p.i >= len(p.s) }

func (p *dnParser) spaces() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *dnParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", ErrSyntax, p.i, fmt.Sprintf(format, args...))
}

func (p *dnParser) attribute() (pkix.AttributeTypeAndValue, error) {
	p.spaces()
	start := p.i
	for !p.eof() && isTypeChar(p.s[p.i]) {
		p.i++
	}
	name := p.s[start:p.i]
	if name == "" {
		return pkix.AttributeTypeAndValue{}, p.errorf("an attribute type is missing")
	}
	oid, err := AttributeOID(name)
	if err != nil {
		return pkix.AttributeTypeAndValue{}, p.errorf("%v", err)
	}
	p.spaces()
	if p.eof() || p.s[p.i] != '=' {
		return pkix.AttributeTypeAndValue{}, p.errorf("'=' expected after %q", name)
	}
	p.i++
	p.spaces()
	var value string
	if !p.eof() && p.s[p.i] == '#' {
		value, err = p.hexValue()
	} else {
		value, err = p.stringValue()
	}
	if err != nil {
		return pkix.AttributeTypeAndValue{}, err
	}
	return pkix.AttributeTypeAndValue{Type: oid, Value: value}, nil
}

// AttributeOID resolves an attribute type name (CN, O, ...) or a dotted OID.
func AttributeOID(name string) (asn1.ObjectIdentifier, error) {
	if name == "" {
		return nil, fmt.Errorf("empty attribute type")
	}
	if c := name[0]; c < '0' || c > '9' {
		if oid, ok := AttributeTypes[strings.ToUpper(name)]; ok {
			return oid, nil
		}
		return nil, fmt.Errorf("unknown attribute type %q; use a dotted OID", name)
	}
	parts := strings.Split(name, ".")
	if len(parts) < 2 || len(parts) > 32 {
		return nil, fmt.Errorf("bad OID %q", name)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, part := range parts {
		n, err := strconv.ParseUint(part, 10, 31)
		if err != nil || part == "" || (len(part) > 1 && part[0] == '0') {
			return nil, fmt.Errorf("bad OID %q", name)
		}
		oid[i] = int(n)
	}
	// X.660: the first arc is 0, 1 or 2, and under 0 and 1 the second is below 40.
	if oid[0] > 2 || oid[0] < 2 && oid[1] >= 40 {
		return nil, fmt.Errorf("bad OID %q", name)
	}
	return oid, nil
}

// stringValue reads an RFC 4514 string value up to an unescaped separator, dropping trailing
// unescaped spaces.
func (p *dnParser) stringValue() (string, error) {
	var b strings.Builder
	keep := 0 // length of b up to the last character that is not an unescaped space
	for !p.eof() {
		c := p.s[p.i]
		switch c {
		case ',', '+', ';':
			return p.finish(b.String()[:keep])
		case '"', '<', '>', 0:
			return "", p.errorf("%q must be escaped with a backslash", c)
		case '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errorf("a backslash ends the value")
			}
			n := p.s[p.i+1]
			if strings.IndexByte(` "#+,;<=>\`, n) >= 0 {
				b.WriteByte(n)
				p.i += 2
			} else if p.i+2 < len(p.s) && isHex(n) && isHex(p.s[p.i+2]) {
				v, _ := strconv.ParseUint(p.s[p.i+1:p.i+3], 16, 8)
				b.WriteByte(byte(v))
				p.i += 3
			} else {
				return "", p.errorf("bad escape; use \\ before one of \" # + , ; < = > \\ or a hex pair")
			}
			keep = b.Len()
			continue
		case ' ':
			b.WriteByte(c)
		default:
			b.WriteByte(c)
			keep = b.Len()
		}
		p.i++
	}
	return p.finish(b.String()[:keep])
}

func (p *dnParser) finish(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", p.errorf("the value is not UTF-8")
	}
	return v, nil
}

// hexValue reads "#" followed by the hex of a DER string and returns the string.
func (p *dnParser) hexValue() (string, error) {
	p.i++ // '#'
	start := p.i
	for !p.eof() && isHex(p.s[p.i]) {
		p.i++
	}
	der, err := hex.DecodeString(p.s[start:p.i])
	if err != nil || len(der) == 0 {
		return "", p.errorf("bad hex value")
	}
	var v string
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) != 0 {
		return "", p.errorf("the hex value is not the DER of a string")
	}
	return p.finish(v)
}

// isTypeChar reports whether c may appear in an attribute type (RFC 4514 descr or numericoid).
func isTypeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// keywords are the attribute types Format writes by name: RFC 4514's, and SERIALNUMBER, which
// crypto/x509 also writes by name. Others are written as dotted OIDs.
var keywords = map[string]string{
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

// Format renders the DER of an X.509 Name as RFC 4514 says (section 2): most specific RDN
// first, "+" between the attributes of a multi-valued RDN, keywords (CN, O, OU, ..., and
// SERIALNUMBER) for the types that have one, with their string values escaped, and "OID=#hex"
// of the original DER for everything else, so that no encoding is lost. It reads the DER
// rather than a parsed pkix.Name so that the string keeps the order and grouping of the RDNs
// as the certificate or CSR holds them, which is what a PKI bridge compares.
func Format(der []byte) (string, error) {
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
			if kw, ok := keywords[oid]; ok {
				if r, err := asn1.Unmarshal(atv.Value.FullBytes, &s); err == nil && len(r) == 0 {
					b.WriteString(kw)
					b.WriteByte('=')
					b.WriteString(Escape(s))
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

// Escape escapes an attribute value as RFC 4514 section 2.4 asks.
func Escape(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case strings.IndexByte(`"+,;<>\`, c) >= 0,
			i == 0 && (c == ' ' || c == '#'),
			i == len(v)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
