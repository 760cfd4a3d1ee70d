package engine

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/realmgate/realmgate/store"
)

// DeviceReset is what resetting one entity of a device did.
type DeviceReset struct {
	Entity string `json:"entity"`
	// RevokedSerial is the certificate the device held, now revoked ("" when it held none).
	RevokedSerial string `json:"revokedSerial,omitempty"`
}

// ResetDevice gives a device id back to whoever provisions it next: for each entity of the device
// (or the one entity named), the certificate the device holds is revoked and the record names none,
// so a new key is provisioned without the old key's proof (a phone lost or wiped). The logins
// shared through that certificate end, and so does the device realm of sessions that signed in
// with it. The reset is audited under actor. An unknown device (or entity) is an *Error with
// CodeNotFound that matches store.ErrNotFound; a device blocked stays blocked.
func (e *Engine) ResetDevice(ctx context.Context, actor, id, entity, reason string) ([]DeviceReset, error) {
	var devs []store.Device
	if entity != "" {
		dev, err := e.store.GetDevice(ctx, id, entity)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, &Error{Code: CodeNotFound, Message: "no provisioned device " + strconv.Quote(id),
				Err: fmt.Errorf("device %q has no entity %q: %w", id, entity, store.ErrNotFound)}
		case err != nil:
			return nil, unavailable("the device store", err)
		}
		devs = append(devs, dev)
	} else {
		all, err := e.store.ListDevices(ctx)
		if err != nil {
			return nil, unavailable("the device store", err)
		}
		for _, d := range all {
			if d.ID == id && d.Entity != "none" { // "none": unprovisioned devices hold no certificate
				devs = append(devs, d)
			}
		}
		if len(devs) == 0 {
			return nil, &Error{Code: CodeNotFound, Message: "no provisioned device " + strconv.Quote(id), Err: store.ErrNotFound}
		}
	}
	if reason == "" {
		reason = "device reset by an administrator"
	}
	now := e.now()
	var out []DeviceReset
	// Every entity's reset and the audit record commit together. Each device is read again in
	// the unit: a provisioning that committed since the read above is what gets reset.
	err := e.update(ctx, func(tx store.Tx) error {
		out = make([]DeviceReset, 0, len(devs))
		for _, d := range devs {
			dev, err := tx.GetDevice(ctx, d.ID, d.Entity)
			if err != nil {
				return err
			}
			r := DeviceReset{Entity: dev.Entity, RevokedSerial: dev.CertificateSerial}
			if serial := dev.CertificateSerial; serial != "" {
				if err := tx.RevokeCertificate(ctx, serial, reason, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				if err := e.endSharedLogins(ctx, tx, serial); err != nil {
					return err
				}
			}
			dev.CertificateSerial = ""
			if err := tx.PutDevice(ctx, dev); err != nil {
				return err
			}
			out = append(out, r)
		}
		return e.auditIn(ctx, tx, actor, "device.reset", id, map[string]any{"reason": reason, "entities": out})
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &Error{Code: CodeNotFound, Message: "no provisioned device " + strconv.Quote(id), Err: err}
		}
		return nil, unavailable("the device store", err)
	}
	e.DeviceStatusChanged(id)
	return out, nil
}
