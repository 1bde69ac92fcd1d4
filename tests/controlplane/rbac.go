package main

import (
	"context"
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/informers"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
)

// rbacAuthorizer enforces the RBAC objects stored in this API server, with the
// rule semantics of kube-apiserver's RBAC authorizer: the subjects of every
// ClusterRoleBinding, and of the RoleBindings in the request's namespace, are
// matched against the user, its groups or its ServiceAccount; a request is
// allowed when one rule of a bound role covers its verb, API group, resource
// (with subresource, "*" and "*/sub"), name (resourceNames) or non-resource URL.
//
// kube-apiserver's bootstrap policy is not stored here; of it, only what every
// authenticated user gets (system:discovery, system:basic-user's discovery and
// system:public-info-viewer: the discovery and health URLs) is built in.
// system:masters (the admin token, and the server's own loopback client) is
// allowed everything, as kube-apiserver's privileged-group authorizer does.
//
// Only with --authorization-mode=RBAC; the default stays AlwaysAllow.
type rbacAuthorizer struct {
	roles               rbaclisters.RoleLister
	roleBindings        rbaclisters.RoleBindingLister
	clusterRoles        rbaclisters.ClusterRoleLister
	clusterRoleBindings rbaclisters.ClusterRoleBindingLister
	synced              []cache.InformerSynced
}

func newRBACAuthorizer(factory informers.SharedInformerFactory) *rbacAuthorizer {
	rbac := factory.Rbac().V1()
	a := &rbacAuthorizer{
		roles:               rbac.Roles().Lister(),
		roleBindings:        rbac.RoleBindings().Lister(),
		clusterRoles:        rbac.ClusterRoles().Lister(),
		clusterRoleBindings: rbac.ClusterRoleBindings().Lister(),
	}
	a.synced = []cache.InformerSynced{
		rbac.Roles().Informer().HasSynced, rbac.RoleBindings().Informer().HasSynced,
		rbac.ClusterRoles().Informer().HasSynced, rbac.ClusterRoleBindings().Informer().HasSynced,
	}
	return a
}

// waitForSync is a post-start hook: /readyz answers only once the RBAC objects are known.
func (a *rbacAuthorizer) waitForSync(ctx genericapiserver.PostStartHookContext) error {
	if !cache.WaitForCacheSync(ctx.Done(), a.synced...) {
		return fmt.Errorf("RBAC informers did not sync")
	}
	return nil
}

// discoveryURLs are what kube-apiserver's bootstrap roles let every authenticated user GET.
var discoveryURLs = []string{"/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/", "/healthz", "/livez", "/readyz"}

func (a *rbacAuthorizer) Authorize(_ context.Context, attrs authorizer.Attributes) (authorizer.Decision, string, error) {
	who := attrs.GetUser()
	if who == nil {
		return authorizer.DecisionNoOpinion, "no user", nil
	}
	for _, group := range who.GetGroups() {
		if group == user.SystemPrivilegedGroup {
			return authorizer.DecisionAllow, "system:masters", nil
		}
	}
	if !attrs.IsResourceRequest() && attrs.GetVerb() == "get" && urlMatches(discoveryURLs, attrs.GetPath()) {
		return authorizer.DecisionAllow, "discovery", nil
	}

	bindings, err := a.clusterRoleBindings.List(labels.Everything())
	if err != nil {
		return authorizer.DecisionNoOpinion, "", err
	}
	for _, binding := range bindings {
		if bound(binding.Subjects, who, "") && a.allows(binding.RoleRef, "", attrs) {
			return authorizer.DecisionAllow, fmt.Sprintf("ClusterRoleBinding %q", binding.Name), nil
		}
	}
	if ns := attrs.GetNamespace(); ns != "" {
		roleBindings, err := a.roleBindings.RoleBindings(ns).List(labels.Everything())
		if err != nil {
			return authorizer.DecisionNoOpinion, "", err
		}
		for _, binding := range roleBindings {
			if bound(binding.Subjects, who, ns) && a.allows(binding.RoleRef, ns, attrs) {
				return authorizer.DecisionAllow, fmt.Sprintf("RoleBinding %q of namespace %q", binding.Name, ns), nil
			}
		}
	}
	return authorizer.DecisionNoOpinion, "no RBAC role bound to the user allows it", nil
}

// allows reports whether the role a binding refers to has a rule for the request.
// A RoleBinding may refer to a Role of its namespace or to a ClusterRole.
func (a *rbacAuthorizer) allows(ref rbacv1.RoleRef, namespace string, attrs authorizer.Attributes) bool {
	var rules []rbacv1.PolicyRule
	switch ref.Kind {
	case "ClusterRole":
		role, err := a.clusterRoles.Get(ref.Name)
		if err != nil {
			return false
		}
		rules = role.Rules
	case "Role":
		if namespace == "" {
			return false
		}
		role, err := a.roles.Roles(namespace).Get(ref.Name)
		if err != nil {
			return false
		}
		rules = role.Rules
	}
	for i := range rules {
		if ruleAllows(&rules[i], attrs) {
			return true
		}
	}
	return false
}

// bound reports whether one of the subjects is the user: by name, by one of its
// groups, or as the ServiceAccount it authenticates as.
func bound(subjects []rbacv1.Subject, who user.Info, bindingNamespace string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if s.Name == who.GetName() {
				return true
			}
		case rbacv1.GroupKind:
			for _, g := range who.GetGroups() {
				if g == s.Name {
					return true
				}
			}
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNamespace
			}
			if ns != "" && serviceaccount.MakeUsername(ns, s.Name) == who.GetName() {
				return true
			}
		}
	}
	return false
}

func ruleAllows(rule *rbacv1.PolicyRule, attrs authorizer.Attributes) bool {
	if !has(rule.Verbs, attrs.GetVerb()) {
		return false
	}
	if !attrs.IsResourceRequest() {
		return urlMatches(rule.NonResourceURLs, attrs.GetPath())
	}
	return has(rule.APIGroups, attrs.GetAPIGroup()) &&
		resourceMatches(rule.Resources, attrs.GetResource(), attrs.GetSubresource()) &&
		(len(rule.ResourceNames) == 0 || contains(rule.ResourceNames, attrs.GetName()))
}

// has matches a value or the "*" wildcard (verbs, API groups).
func has(set []string, value string) bool {
	return contains(set, "*") || contains(set, value)
}

func contains(set []string, value string) bool {
	for _, s := range set {
		if s == value {
			return true
		}
	}
	return false
}

func resourceMatches(resources []string, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined = resource + "/" + subresource
	}
	for _, r := range resources {
		if r == "*" || r == combined || (subresource != "" && r == "*/"+subresource) {
			return true
		}
	}
	return false
}

// urlMatches matches a path exactly or by a prefix ending in "*".
func urlMatches(urls []string, path string) bool {
	for _, u := range urls {
		if u == "*" || u == path || (strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimSuffix(u, "*"))) {
			return true
		}
	}
	return false
}
