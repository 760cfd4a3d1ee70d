package client

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The user-certificate realm asks for a CSR subject as a common name plus an RFC 4514 string of
// further RDNs ("O=Example,OU=Mobile"). parseDN reads that string with the grammar the server
// checks it with (engine/pki.ParseDN): the RFC 4514 attribute names and a few more, dotted OIDs,
// backslash escapes of specials and of hex pairs, "#" hex DER values, '+' for multi-valued RDNs,
// ';' like ',' and spaces around separators ignored. A test holds the two parsers equal.

const maxDNLength = 4 << 10

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// dnAttributeTypes maps attribute type names (upper case) to their OIDs.
var dnAttributeTypes = map[string]asn1.ObjectIdentifier{
	"CN":           oidCommonName,
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

// parseDN parses an RFC 4514 distinguished name into an RDN sequence in DER order (the reverse
// of the string's), every value a string. An empty string is an empty sequence.
func parseDN(s string) (pkix.RDNSequence, error) {
	if len(s) > maxDNLength {
		return nil, fmt.Errorf("distinguished name of %d bytes (at most %d)", len(s), maxDNLength)
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := dnReader{s: s}
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
	for i, j := 0, len(seq)-1; i < j; i, j = i+1, j-1 {
		seq[i], seq[j] = seq[j], seq[i]
	}
	return seq, nil
}

type dnReader struct {
	s string
	i int
}

func (p *dnReader) eof() bool { return p.i >= len(p.s) }

func (p *dnReader) spaces() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *dnReader) errorf(format string, args ...any) error {
	return fmt.Errorf("distinguished name at offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *dnReader) attribute() (pkix.AttributeTypeAndValue, error) {
	p.spaces()
	start := p.i
	for !p.eof() && isDNTypeChar(p.s[p.i]) {
		p.i++
	}
	name := p.s[start:p.i]
	if name == "" {
		return pkix.AttributeTypeAndValue{}, p.errorf("an attribute type is missing")
	}
	oid, err := dnAttributeOID(name)
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

// dnAttributeOID resolves a type name or a dotted OID.
func dnAttributeOID(name string) (asn1.ObjectIdentifier, error) {
	if c := name[0]; c < '0' || c > '9' {
		if oid, ok := dnAttributeTypes[strings.ToUpper(name)]; ok {
			return oid, nil
		}
		return nil, fmt.Errorf("unknown attribute type %q", truncate(name, 64))
	}
	return parseOID(name)
}

// parseOID parses a dotted OID of 2 to 32 arcs, each below 2^31, as X.660 allows them.
func parseOID(name string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(name, ".")
	if len(parts) < 2 || len(parts) > 32 {
		return nil, fmt.Errorf("bad OID %q", truncate(name, 64))
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, part := range parts {
		n, err := strconv.ParseUint(part, 10, 31)
		if err != nil || part == "" || (len(part) > 1 && part[0] == '0') {
			return nil, fmt.Errorf("bad OID %q", truncate(name, 64))
		}
		oid[i] = int(n)
	}
	if oid[0] > 2 || oid[0] < 2 && oid[1] >= 40 {
		return nil, fmt.Errorf("bad OID %q", truncate(name, 64))
	}
	return oid, nil
}

// stringValue reads a string value up to an unescaped separator, dropping trailing unescaped
// spaces.
func (p *dnReader) stringValue() (string, error) {
	var b strings.Builder
	keep := 0 // length of b up to its last character that is not an unescaped space
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
			} else if p.i+2 < len(p.s) && isHexDigit(n) && isHexDigit(p.s[p.i+2]) {
				v, _ := strconv.ParseUint(p.s[p.i+1:p.i+3], 16, 8)
				b.WriteByte(byte(v))
				p.i += 3
			} else {
				return "", p.errorf("bad escape")
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

func (p *dnReader) finish(v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", p.errorf("the value is not UTF-8")
	}
	return v, nil
}

// hexValue reads "#" and the hex of a DER string, and returns the string.
func (p *dnReader) hexValue() (string, error) {
	p.i++
	start := p.i
	for !p.eof() && isHexDigit(p.s[p.i]) {
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

func isDNTypeChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.'
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
