package main

import (
	"testing"
)

// TestProvisioningRefusalsKeepNoCertificate: with the built-in CA, a CSR for a device that is
// blocked, or that holds a live certificate, with no proof, is refused (403 device_blocked, 403
// device_proof_required) whether the refusal comes before the signing or from the unit of work
// that records the certificate: the device keeps its certificate, and no certificate is
// recorded or sent for the refused key.
func TestProvisioningRefusalsKeepNoCertificate(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	phone := newDevice(t, "phone-r")
	devsecVictim(t, l, d, phone)
	certs := func() int {
		t.Helper()
		st, body := admin(t, d, "GET", "/admin/v1/certificates", "", adminToken)
		if st != 200 {
			t.Fatalf("list certificates: %d %v", st, body)
		}
		return len(body["certificates"].([]any))
	}
	before := certs()

	s, token := devsecProvisioning(t, l, d, "Calendar")
	st, body := devsecCSR(t, s, newDevice(t, phone.id), token, "")
	if st != 403 || body["error"] != "device_proof_required" || body["certificate"] != nil {
		t.Errorf("a new key, no proof: %d %v, want 403 device_proof_required and no certificate", st, body)
	}

	if st, body := admin(t, d, "PUT", "/admin/v1/devices/"+phone.id+"/status", `{"status":"blocked"}`, adminToken); st != 200 {
		t.Fatalf("block: %d %v", st, body)
	}
	for _, withProof := range []bool{false, true} {
		s, token := devsecProvisioning(t, l, d, "Calendar")
		next := newDevice(t, phone.id)
		proof := ""
		if withProof {
			proof = signProof(t, phone, proofClaims(s, phone, token, thumbprint(t, next.key.Public())))
		}
		st, body := devsecCSR(t, s, next, token, proof)
		if st != 403 || body["error"] != "device_blocked" || body["certificate"] != nil {
			t.Errorf("a blocked device (proof %v): %d %v, want 403 device_blocked and no certificate", withProof, st, body)
		}
	}
	if got := deviceSerial(t, d, phone.id, "group:suite"); got != serialOf(phone.chain[0]) {
		t.Errorf("the device holds %s after the refusals, want its certificate %s", got, serialOf(phone.chain[0]))
	}
	if after := certs(); after != before {
		t.Errorf("%d certificates recorded after refused provisionings, want %d", after, before)
	}
}
