package main

import (
	"fmt"
	"net/http"
	"os"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/token/tokenfile"
	"k8s.io/apiserver/pkg/authentication/user"
)

// newAuthenticator authenticates bearer tokens from a kube-apiserver style
// token file (token,user,uid,"group1,group2"). An unknown or missing token
// gets 401, except that the health and version endpoints also answer
// anonymous requests (as the public-info-viewer role allows in a cluster),
// so readiness probes need no credentials.
func newAuthenticator(tokenFile string) (authenticator.Request, error) {
	tokens, err := tokenfile.NewCSV(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", tokenFile, err)
	}
	bearer := group.NewAuthenticatedGroupAdder(bearertoken.New(tokens))
	return authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
		if req.Header.Get("Authorization") == "" && publicPaths[req.URL.Path] {
			return &authenticator.Response{User: &user.DefaultInfo{
				Name: user.Anonymous, Groups: []string{user.AllUnauthenticated},
			}}, true, nil
		}
		return bearer.AuthenticateRequest(req)
	}), nil
}

var publicPaths = map[string]bool{"/healthz": true, "/livez": true, "/readyz": true, "/version": true}

// defaultAuditPolicy records every request once it completed, with user, verb
// and object reference but without bodies.
const defaultAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
`

// writeDefaultAuditPolicy writes the built-in policy to a temporary file for
// the audit options, which only read policies from files.
func writeDefaultAuditPolicy() (string, error) {
	f, err := os.CreateTemp("", "passbox-audit-policy-*.yaml")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = f.WriteString(defaultAuditPolicy)
	return f.Name(), err
}
