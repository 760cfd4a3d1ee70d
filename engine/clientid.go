package engine

// clientIDLabel separates this use of SHA-256 from any other hash of the same value.
const clientIDLabel = "realmgate client id v1\x00"

// ClientID is Worklight's WL.Server.getClientId() for the session whose lineage is lineage: a
// UUID (version 8, RFC 9562 section 5.8) made of SHA-256 over a fixed label and the lineage.
//
// The lineage is the session's random id that survives session-id rotation (state.Lineage), so
// the client keeps its id across its requests and its logins, and never holds a bearer secret:
// the session cookie rotates on login and must not reach adapters, and the lineage binds the
// session's nonces, so it stays on the host too. The hash cannot be turned back into the
// lineage, and the lineage's 256 random bits make the id unguessable and unrelated to any other
// client's. As for AnonymousUserID, no key is needed: the id is the same on every daemon of a
// cluster sharing the session store.
func ClientID(lineage string) string {
	if lineage == "" {
		return ""
	}
	return derivedUUID(clientIDLabel, lineage)
}
