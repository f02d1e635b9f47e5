package pa

import "github.com/edgeid/edgeid/drivers/emrtd/pki"
import "github.com/edgeid/edgeid/drivers/emrtd/lds"

// AddActiveAuthentication verifies a chip's Active Authentication response (to challenge)
// against the document's DG15 key, with DG14's ActiveAuthenticationInfo for EC keys, and
// adds the outcome to r as the "active-auth" check. DG15 (and DG14 when used) must have
// passed their hash checks in r: a key the SOD does not vouch for proves nothing.
// A nil response means Active Authentication was not run.
func (r *Report) AddActiveAuthentication(files lds.Files, challenge, response []byte) {
	dg15, ok := files["DG15"]
	if !ok {
		r.add(CheckActiveAuth, StatusNotApplicable, "no DG15: the chip offers no Active Authentication")
		return
	}
	if response == nil {
		r.add(CheckActiveAuth, StatusNotApplicable, "DG15 present but Active Authentication was not run")
		return
	}
	if c, _ := r.Get(CheckDGHashPrefix + "DG15"); c.Status != StatusPass {
		r.add(CheckActiveAuth, StatusFail, "DG15 is not authenticated by the SOD (%s), so its key cannot be used", c.Status)
		return
	}
	pub, err := lds.ParseDG15(dg15)
	if err != nil {
		r.add(CheckActiveAuth, StatusFail, "%v", err)
		return
	}
	var info *lds.ActiveAuthenticationInfo
	if _, isEC := pub.(*pki.ECPublicKey); isEC {
		dg14, ok := files["DG14"]
		if !ok {
			r.add(CheckActiveAuth, StatusFail, "EC Active Authentication key but no DG14 naming the signature algorithm")
			return
		}
		if c, _ := r.Get(CheckDGHashPrefix + "DG14"); c.Status != StatusPass {
			r.add(CheckActiveAuth, StatusFail, "DG14 is not authenticated by the SOD (%s)", c.Status)
			return
		}
		si, err := lds.ParseSecurityInfos(dg14)
		if err != nil {
			r.add(CheckActiveAuth, StatusFail, "%v", err)
			return
		}
		if len(si.ActiveAuth) > 0 {
			info = &si.ActiveAuth[0]
		}
	}
	if err := VerifyActiveAuthentication(pub, challenge, response, info); err != nil {
		r.add(CheckActiveAuth, StatusFail, "%v: the chip may be a clone", err)
		return
	}
	r.add(CheckActiveAuth, StatusPass, "the chip proved it holds the DG15 %s private key", pki.KeyDescription(pub))
}
