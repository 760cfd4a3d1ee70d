package client

import (
	"context"
	"fmt"
)

// xsrfHandler answers wl_antiXSRFRealm: it stores the instance id, which the client then sends in
// the WL-Instance-Id header of every request to the server. Nothing is posted.
type xsrfHandler struct{ c *Client }

func (h *xsrfHandler) HandleChallenge(_ context.Context, ch *Challenge) (*Answer, error) {
	var p struct {
		Token string `json:"WL-Instance-Id"`
	}
	if err := ch.Decode(&p); err != nil {
		return nil, err
	}
	if !validInstanceID(p.Token) {
		return nil, fmt.Errorf("%w: anti-XSRF challenge without a usable WL-Instance-Id", ErrMalformedResponse)
	}
	h.c.setInstanceID(p.Token)
	return &Answer{Skip: true}, nil
}

func (h *xsrfHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}

// Notice is a remote-disable notification: a message an administrator wants users of this
// application version to see before they go on.
type Notice struct {
	Realm     string
	Message   string
	MessageID string
}

// NotifyHandler answers the remote-disable realm's "notify" challenge. OnNotify shows the notice
// to the user; returning nil acknowledges it, an error abandons the request. With OnNotify nil
// every notice is acknowledged. (A blocked application is not a challenge: its requests fail
// with an *Error matching ErrApplicationDisabled.)
type NotifyHandler struct {
	OnNotify func(ctx context.Context, n Notice) error
}

// HandleChallenge acknowledges a notify challenge once OnNotify agrees.
func (h *NotifyHandler) HandleChallenge(ctx context.Context, ch *Challenge) (*Answer, error) {
	var p struct {
		Action    string `json:"action"`
		Message   string `json:"message"`
		MessageID string `json:"messageId"`
	}
	if err := ch.Decode(&p); err != nil {
		return nil, err
	}
	if p.Action != "notify" {
		return nil, fmt.Errorf("%w: remote-disable action %q", ErrUnsupportedChallenge, sanitize(p.Action, 32))
	}
	if h.OnNotify != nil {
		n := Notice{Realm: ch.Realm, Message: sanitize(p.Message, maxMessageLen), MessageID: sanitize(p.MessageID, 256)}
		if err := h.OnNotify(ctx, n); err != nil {
			return nil, err
		}
	}
	return &Answer{Body: map[string]any{"acknowledged": true, "messageId": p.MessageID}}, nil
}

// HandleStatus refuses: the realm has a single round.
func (h *NotifyHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}

// DeviceInfo describes the device to realms that identify it.
type DeviceInfo struct {
	ID          string `json:"id"`
	OS          string `json:"os"`
	Model       string `json:"model"`
	DisplayName string `json:"displayName"`
}

// DeviceHandler answers wl_deviceNoProvisioningRealm: it echoes the challenge's nonce with the
// device description, which the server takes as the device identity.
type DeviceHandler struct {
	Device DeviceInfo
}

// HandleChallenge answers {"token"} with {"token", "device"}.
func (h *DeviceHandler) HandleChallenge(_ context.Context, ch *Challenge) (*Answer, error) {
	var p struct {
		Token string `json:"token"`
	}
	if err := ch.Decode(&p); err != nil {
		return nil, err
	}
	if p.Token == "" {
		return nil, fmt.Errorf("%w: device challenge without a token", ErrMalformedResponse)
	}
	return &Answer{Body: map[string]any{"token": p.Token, "device": h.Device}}, nil
}

// HandleStatus refuses: the realm has a single round.
func (h *DeviceHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}
