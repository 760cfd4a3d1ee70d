package pki

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

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
