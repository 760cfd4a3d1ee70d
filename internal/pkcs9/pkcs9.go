// Package pkcs9 names the PKCS #9 attributes (RFC 2985) a PKI bridge's CSR requirements may ask a
// request to carry (additionalAttributes: {"challengePassword": "..."}), the one table the
// server, which checks a CSR for them, and the Go client, which puts them in its CSR, share.
package pkcs9

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"

	"github.com/realmgate/realmgate/internal/rfc4514"
)

// Names maps the attribute names a requirement may use (lower case; names compare without
// regard to case) to their OIDs. Other attributes are named by dotted OID.
var Names = map[string]asn1.ObjectIdentifier{
	"challengepassword":   {1, 2, 840, 113549, 1, 9, 7},
	"unstructuredname":    {1, 2, 840, 113549, 1, 9, 2},
	"unstructuredaddress": {1, 2, 840, 113549, 1, 9, 8},
}

// OIDExtensionRequest is the attribute that carries a request's extensions: not a string, so
// never a requirement's.
var OIDExtensionRequest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}

// Errors of AttributeOID, for errors.Is.
var (
	// ErrSyntax: an empty name or a malformed dotted OID.
	ErrSyntax = errors.New("malformed CSR attribute name")
	// ErrUnsupported: a name that is not in Names, or extensionRequest.
	ErrUnsupported = errors.New("unsupported CSR attribute")
)

// AttributeOID resolves the name of a CSR attribute: one of Names (in any case) or a dotted OID.
// extensionRequest is refused: its value is a list of extensions, not a string.
func AttributeOID(name string) (asn1.ObjectIdentifier, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: empty attribute name", ErrSyntax)
	}
	var oid asn1.ObjectIdentifier
	if c := name[0]; c >= '0' && c <= '9' {
		var err error
		if oid, err = rfc4514.AttributeOID(name); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
	} else if oid = Names[strings.ToLower(name)]; oid == nil {
		if strings.EqualFold(name, "extensionRequest") {
			return nil, fmt.Errorf("%w: extensionRequest holds extensions, not a string", ErrUnsupported)
		}
		return nil, fmt.Errorf("%w: %q is not one of challengePassword, unstructuredName, unstructuredAddress; name others by dotted OID", ErrUnsupported, name)
	}
	if oid.Equal(OIDExtensionRequest) {
		return nil, fmt.Errorf("%w: extensionRequest holds extensions, not a string", ErrUnsupported)
	}
	return oid, nil
}
