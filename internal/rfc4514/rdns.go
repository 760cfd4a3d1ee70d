package rfc4514

import (
	"cmp"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"unicode/utf8"
)

// Bounds of the subjects RDNs builds.
const (
	MaxAttributes  = 32
	MaxValueLength = 1024
)

// generality ranks the attribute types of a subject from the most general, the order in which
// RDNs writes them (DER order: the string form reads the other way, most specific first).
var generality = map[string]int{
	"0.9.2342.19200300.100.1.25": 1, // DC
	"2.5.4.6":                    2, // C
	"2.5.4.8":                    3, // ST
	"2.5.4.7":                    4, // L
	"2.5.4.9":                    5, // STREET
	"2.5.4.10":                   6, // O
	"2.5.4.11":                   7, // OU
}

// RDNs builds the RDN sequence of a subject given as an object of attribute type to value: the
// additionalSubject of a PKI bridge's CSR requirements ({"O": "IBM", "OU": "Mobile"}), so that
// the client that builds a CSR and the server that checks or signs it read the object alike.
// Types are the names of AttributeTypes in any case, or dotted OIDs. Each attribute is an RDN of
// its own, in DER order from the most general (DC, C, ST, L, STREET, O, OU, then other types by
// OID), whatever the order of the object. Values are taken as they are (no escapes); a value must
// be 1 to MaxValueLength bytes of UTF-8. Two names of one type, or more than MaxAttributes, are
// errors; every error matches ErrSyntax.
func RDNs(attrs map[string]string) (pkix.RDNSequence, error) {
	if len(attrs) > MaxAttributes {
		return nil, fmt.Errorf("%w: %d attributes; at most %d", ErrSyntax, len(attrs), MaxAttributes)
	}
	type attr struct {
		name string
		oid  asn1.ObjectIdentifier
	}
	list := make([]attr, 0, len(attrs))
	for name := range attrs {
		if name == "" {
			return nil, fmt.Errorf("%w: empty attribute type", ErrSyntax)
		}
		oid, err := AttributeOID(name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		list = append(list, attr{name, oid})
	}
	slices.SortFunc(list, func(a, b attr) int {
		if c := cmp.Compare(rank(a.oid), rank(b.oid)); c != 0 {
			return c
		}
		if c := slices.Compare(a.oid, b.oid); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	seq := make(pkix.RDNSequence, 0, len(list))
	for i, a := range list {
		typ := typeName(a.oid)
		if i > 0 && list[i-1].oid.Equal(a.oid) {
			return nil, fmt.Errorf("%w: names %s twice (%q and %q)", ErrSyntax, typ, list[i-1].name, a.name)
		}
		v := attrs[a.name]
		switch {
		case v == "":
			return nil, fmt.Errorf("%w: the value of %s is empty", ErrSyntax, typ)
		case !utf8.ValidString(v):
			return nil, fmt.Errorf("%w: the value of %s is not UTF-8", ErrSyntax, typ)
		case len(v) > MaxValueLength:
			return nil, fmt.Errorf("%w: the value of %s is over %d bytes", ErrSyntax, typ, MaxValueLength)
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: a.oid, Value: v}})
	}
	return seq, nil
}

// rank orders the types of generality first, then every other type.
func rank(oid asn1.ObjectIdentifier) int {
	if r, ok := generality[oid.String()]; ok {
		return r
	}
	return len(generality) + 1
}

// typeName is the keyword of a type, or its dotted OID.
func typeName(oid asn1.ObjectIdentifier) string {
	if kw, ok := keywords[oid.String()]; ok {
		return kw
	}
	return oid.String()
}
