package project

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Environments Realmgate knows, by the lower-cased element name of application-descriptor.xml.
// The value says whether the environment is a device (mobile) environment.
var environments = map[string]bool{
	"android": true, "iphone": true, "ipad": true, "blackberry": true, "blackberry10": true,
	"windowsphone": true, "windowsphone8": true, "windows8": true, "windowsphoneuniversal": true,
	"windows": true, "windowsuniversal": true,
	"common": false, "mobilewebapp": false, "desktopbrowser": false, "facebook": false,
	"igoogle": false, "vista": false, "adobeair": false, "air": false, "dashboard": false,
}

// nativeRoots maps the root element of a native application descriptor to its environment.
var nativeRoots = map[string]string{
	"nativeandroidapp":               "android",
	"nativeiosapp":                   "iphone",
	"nativewindowsphone8app":         "windowsphone8",
	"nativewindows8app":              "windows8",
	"nativewindowsphoneuniversalapp": "windowsphoneuniversal",
	"nativewindowsuniversalapp":      "windowsuniversal",
	"nativewindowsapp":               "windows",
}

// IsMobileEnvironment reports whether env is a device environment.
func IsMobileEnvironment(env string) bool { return environments[strings.ToLower(env)] }

// IsEnvironment reports whether name (any case) is an environment element of
// application-descriptor.xml that Realmgate knows.
func IsEnvironment(name string) bool {
	_, ok := environments[strings.ToLower(name)]
	return ok
}

// NativeEnvironment returns the environment of a native application descriptor whose root
// element is root (any case), and whether root is one.
func NativeEnvironment(root string) (string, bool) {
	env, ok := nativeRoots[strings.ToLower(root)]
	return env, ok
}

func (l *loader) loadApps() {
	for _, dir := range l.subdirs(appsDir) {
		rel := path.Join(appsDir, dir, descriptorName)
		root := l.readXML(rel)
		if root == nil {
			continue
		}
		id, _ := root.attr("id")
		if id == "" {
			id = dir
		} else if id != dir {
			l.warnf(l.pos(rel, root), "", "application id %q differs from its folder %q; clients use %q", id, dir, id)
		}
		if prev, dup := l.p.Apps[id]; dup {
			l.errorf(l.pos(rel, root), "give each application its own id", "application %q is also defined at %s", id, prev.Pos)
			continue
		}
		app := &App{ID: id, Pos: l.pos(rel, root), Envs: map[string]*Environment{}}
		if v := root.childText("accessTokenExpiration"); v != "" {
			if sec, err := strconv.Atoi(v); err == nil && sec > 0 {
				app.AccessTokenExpiration = sec
			} else {
				l.warnf(l.pos(rel, root.child("accessTokenExpiration")), "", "accessTokenExpiration %q is not a positive number; ignored", v)
			}
		}
		app.UserIdentityRealms = append(app.UserIdentityRealms, strings.FieldsFunc(root.childText("userIdentityRealms"), func(r rune) bool { return r == ',' || r == ';' || r == ' ' })...)
		l.checkUsage(rel, id, root)
		lname := strings.ToLower(root.Name)
		switch {
		case lname == "application":
			app.Kind = "hybrid"
			for _, c := range root.Children {
				env := strings.ToLower(c.Name)
				mobile, known := environments[env]
				if !known {
					continue // descriptive elements: displayName, description, features ...
				}
				if env == "air" {
					env = "adobeair"
				}
				l.addEnv(rel, app, c, env, mobile)
			}
			if _, ok := app.Envs["common"]; !ok {
				// Every hybrid application has the common environment (web resources shared by
				// all environments, used by the preview); it gets the default web test.
				app.Envs["common"] = &Environment{Name: "common", SecurityTest: DefaultWebTest, Pos: app.Pos, TestPos: app.Pos}
			}
		case nativeRoots[lname] != "":
			app.Kind = "native"
			env := nativeRoots[lname]
			l.addEnv(rel, app, root, env, environments[env])
		case lname == "nativejavameapp":
			// Worklight applied no security checks to Java ME; serving it unprotected would
			// fail open, so this application alone is left out.
			l.warnf(l.pos(rel, root), "serve Java ME clients from Worklight, or remove "+path.Join(appsDir, dir),
				"application %q is a Java ME application, which Realmgate does not support: it is not loaded, and its clients are refused as an application that is not deployed", id)
			continue
		default:
			l.errorf(l.pos(rel, root), "the root must be <application> or a native descriptor such as <nativeAndroidApp>",
				"unknown application descriptor root <%s>", root.Name)
			continue
		}
		l.p.Apps[id] = app
	}
}

func (l *loader) addEnv(rel string, app *App, n *node, env string, mobile bool) {
	pos := l.pos(rel, n)
	if prev, dup := app.Envs[env]; dup {
		l.errorf(pos, "keep one", "environment %q is declared twice (first at line %d)", env, prev.Pos.Line)
		return
	}
	e := &Environment{Name: env, Mobile: mobile, Pos: pos}
	e.Declared, _ = n.attr("securityTest")
	e.TestPos = Pos{File: rel, Line: n.attrLine("securityTest")}
	e.SecurityTest = e.Declared
	if e.SecurityTest == "" {
		if mobile {
			e.SecurityTest = DefaultMobileTest
		} else {
			e.SecurityTest = DefaultWebTest
		}
	}
	e.Version, _ = n.attr("version")
	if e.Version == "" {
		e.Version, _ = n.attr("applicationVersion")
	}
	e.BundleID, _ = n.attr("bundleId")
	sec := n.child("security")
	if sec == nil {
		sec = n // native descriptors put these directly under the root
	}
	e.PublicSigningKey = sec.childText("publicSigningKey")
	e.PackageName = sec.childText("packageName")
	for _, d := range sec.children("signingCertificateDigest") {
		digest := strings.ToLower(strings.ReplaceAll(d.Text, ":", ""))
		if len(digest) != 64 || strings.Trim(digest, "0123456789abcdef") != "" {
			l.errorf(l.pos(rel, d), "give the hex SHA-256 of the app signing certificate", "signingCertificateDigest %q is not a SHA-256 digest", d.Text)
			continue
		}
		if slices.Contains(e.SigningCertificateDigests, digest) {
			l.warnf(l.pos(rel, d), "remove the repeated element", "signingCertificateDigest %s is given twice", digest)
			continue
		}
		e.SigningCertificateDigests = append(e.SigningCertificateDigests, digest)
	}
	provs := append(sec.children("provisioning"), n.children("provisioning")...)
	if sec == n {
		provs = n.children("provisioning")
	}
	var prov *node
	if len(provs) > 0 {
		prov = provs[0]
		for _, extra := range provs[1:] {
			l.warnf(l.pos(rel, extra), "keep one <provisioning> element", "a second <provisioning> element is ignored; the one at line %d applies", prov.Line)
		}
	}
	if prov != nil {
		entity, _ := prov.attr("entity")
		switch entity {
		case "application", "":
			e.ProvisioningEntity = "application"
		case "device":
			e.ProvisioningEntity = "device"
		case "group":
			group, _ := prov.attr("group")
			switch {
			case group == "":
				l.errorf(l.pos(rel, prov), `add group="NAME" naming the group of applications`, "provisioning entity group without a group name")
			case len(group) > 128:
				l.errorf(l.pos(rel, prov), "use a group name of at most 128 characters", "provisioning group name is %d characters long", len(group))
			case !l.checkName(rel, prov, "provisioning group", group):
			default:
				e.ProvisioningEntity = "group:" + group
			}
		default:
			l.errorf(l.pos(rel, prov), `use entity="application", "group" or "device"`, "unknown provisioning entity %q", entity)
		}
	}
	app.Envs[env] = e
}

// checkUsage refuses <usage requireAuthentication="onStartup">, the application protection of the
// authentication model before Worklight 5.0.0.3, wherever it is in the descriptor: loaded as it is,
// the application would be served to the anonymous user.
func (l *loader) checkUsage(rel, app string, n *node) {
	for _, c := range n.Children {
		if strings.EqualFold(c.Name, "usage") {
			mode, _ := c.attr("requireAuthentication")
			if strings.EqualFold(strings.TrimSpace(mode), "onStartup") {
				var realms []string
				for _, r := range c.children("realm") {
					if name, _ := r.attr("name"); name != "" {
						realms = append(realms, name)
					}
				}
				user := "..."
				if len(realms) > 0 {
					user = realms[0]
				}
				l.errorf(l.pos(rel, c), fmt.Sprintf(`define a <mobileSecurityTest> or <webSecurityTest> with <testUser realm=%q/> in server/conf/authenticationConfig.xml and name it in each environment's securityTest="..." (the Worklight 5.0.0.3 upgrade)`, user),
					"application %q requires authentication on startup (realms %s) with <usage>, from the authentication model before Worklight 5.0.0.3, which Realmgate does not enforce", app, strings.Join(realms, ", "))
			}
			continue
		}
		l.checkUsage(rel, app, c)
	}
}
