// Command passbox-controlplane is a small Kubernetes API server for tests. It
// composes the real k8s.io/apiextensions-apiserver (CRDs with structural
// schemas, CEL validation, status subresources, watches) with etcd-backed
// generic stores for the built-in kinds an operator touches (see registry.go),
// static token authentication, AlwaysAllow (or with --authorization-mode=RBAC,
// RBAC) authorization, audit logging and
// three admission plugins (MutatingAdmissionPolicy, ValidatingAdmissionPolicy,
// ValidatingAdmissionWebhook by URL).
//
// It deliberately lacks controllers (no garbage collection, no namespace
// lifecycle) and other admission. hack/controlplane.sh builds it
// from Debian's Go source packages and runs it next to an etcd.
package main

import (
	"context"
	goflag "flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/spf13/pflag"
	noopoteltrace "go.opentelemetry.io/otel/trace/noop"

	corev1 "k8s.io/api/core/v1"
	apiextensionsapiserver "k8s.io/apiextensions-apiserver/pkg/apiserver"
	apiextensionsoptions "k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	apiextensionsopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"
	"k8s.io/kube-openapi/pkg/common"

	generatedopenapi "passbox-controlplane/openapi"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "passbox-controlplane:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := pflag.NewFlagSet("passbox-controlplane", pflag.ContinueOnError)

	// Upstream option structs give the same flag names as kube-apiserver:
	// --feature-gates, --secure-port, --bind-address, --cert-dir,
	// --etcd-servers, --watch-cache, --audit-log-path, --audit-policy-file, ...
	serverRun := genericoptions.NewServerRunOptions()
	serverRun.AddUniversalFlags(fs)
	secure := genericoptions.NewSecureServingOptions()
	secure.BindAddress = net.ParseIP("127.0.0.1")
	secure.ServerCert.CertDirectory = ""
	secure.AddFlags(fs)
	loopback := secure.WithLoopback()
	etcd := genericoptions.NewEtcdOptions(storagebackend.NewDefaultConfig("/registry", nil))
	// There is no garbage collector: never add orphan/foreground finalizers
	// that nothing would ever remove.
	etcd.EnableGarbageCollection = false
	etcd.AddFlags(fs)
	audit := genericoptions.NewAuditOptions()
	audit.LogOptions.Format = "json"
	audit.LogOptions.BatchOptions.Mode = "blocking" // entries are on disk when the response is sent
	audit.AddFlags(fs)
	// Admission: MutatingAdmissionPolicy (GA in Kubernetes 1.36), so the
	// chart's policy that puts Passbox's finalizer on new credentials can be
	// tested; ValidatingAdmissionPolicy and ValidatingAdmissionWebhook, so the
	// operator's report of a Secret write that a policy denies or a webhook
	// cannot be called for is tested against the real plugins. Webhooks work by
	// clientConfig.url only (no Services to resolve). Namespace lifecycle stays
	// off (tests create objects in namespaces that do not exist); mutating
	// webhooks have no test that needs them.
	admission := genericoptions.NewAdmissionOptions()
	admission.DisablePlugins = []string{"NamespaceLifecycle", "MutatingAdmissionWebhook"}
	admission.AddFlags(fs)
	tokenFile := fs.String("token-auth-file", "", "kube-apiserver style static token file (token,user,uid,\"group1,group2\"); required")
	authorizationMode := fs.String("authorization-mode", "AlwaysAllow", "AlwaysAllow, or RBAC to enforce the stored RBAC objects (see rbac.go)")

	klogFlags := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)

	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *tokenFile == "" || secure.ServerCert.CertDirectory == "" || len(etcd.StorageConfig.Transport.ServerList) == 0 {
		return fmt.Errorf("--token-auth-file, --cert-dir and --etcd-servers are required")
	}
	if *authorizationMode != "AlwaysAllow" && *authorizationMode != "RBAC" {
		return fmt.Errorf("--authorization-mode must be AlwaysAllow or RBAC")
	}
	builtinPolicy := ""
	if audit.LogOptions.Path != "" && audit.PolicyFile == "" {
		var err error
		if builtinPolicy, err = writeDefaultAuditPolicy(); err != nil {
			return err
		}
		audit.PolicyFile = builtinPolicy
	}

	// Resolve --feature-gates / --emulated-version now, before anything reads a gate.
	if err := serverRun.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	if err := serverRun.Complete(); err != nil {
		return err
	}
	var errs []error
	errs = append(errs, serverRun.Validate()...)
	errs = append(errs, loopback.Validate()...)
	errs = append(errs, etcd.Validate()...)
	errs = append(errs, audit.Validate()...)
	errs = append(errs, admission.Validate()...)
	if len(errs) > 0 {
		return fmt.Errorf("invalid flags: %v", errs)
	}
	if err := loopback.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{net.ParseIP("127.0.0.1")}); err != nil {
		return fmt.Errorf("self-signed certificate: %w", err)
	}

	cfg := genericapiserver.NewRecommendedConfig(apiextensionsapiserver.Codecs)
	cfg.PublicAddress = net.ParseIP("127.0.0.1")
	if err := serverRun.ApplyTo(&cfg.Config); err != nil {
		return err
	}
	if err := loopback.ApplyTo(&cfg.SecureServing, &cfg.LoopbackClientConfig); err != nil {
		return err
	}
	err := audit.ApplyTo(&cfg.Config) // reads the policy file
	if builtinPolicy != "" {
		os.Remove(builtinPolicy)
	}
	if err != nil {
		return err
	}
	authn, err := newAuthenticator(*tokenFile)
	if err != nil {
		return err
	}
	cfg.Authentication.Authenticator = authn
	// One informer factory on the loopback client, started with the server: the admission policies' and RBAC's.
	clientset, err := kubernetes.NewForConfig(cfg.LoopbackClientConfig)
	if err != nil {
		return fmt.Errorf("loopback client: %w", err)
	}
	cfg.SharedInformerFactory = informers.NewSharedInformerFactory(clientset, 10*time.Minute)
	cfg.ClientConfig = cfg.LoopbackClientConfig
	var rbac *rbacAuthorizer
	if *authorizationMode == "RBAC" {
		rbac = newRBACAuthorizer(cfg.SharedInformerFactory)
		cfg.Authorization.Authorizer = rbac
	} else {
		cfg.Authorization.Authorizer = authorizerfactory.NewAlwaysAllowAuthorizer()
	}
	// After the authorizer: the policy plugin checks its params' access with it.
	if err := applyAdmission(admission, cfg, clientset); err != nil {
		return err
	}

	// One etcd, two encodings: CRD objects use the apiextensions codec, the
	// built-in kinds ours (JSON of their v1 versions).
	etcd.StorageConfig.StorageObjectCountTracker = cfg.StorageObjectCountTracker
	factory := &storageFactory{
		base:     etcd.StorageConfig,
		crdCodec: apiextensionsapiserver.Codecs.LegacyCodec(schema.GroupVersion{Group: "apiextensions.k8s.io", Version: "v1"}),
		codec:    Codecs.LegacyCodec(builtinGroupVersions...),
	}
	if err := etcd.ApplyWithStorageFactoryTo(factory, &cfg.Config); err != nil {
		return err
	}
	cfg.MergedResourceConfig = apiextensionsapiserver.DefaultAPIResourceConfigSource()

	// OpenAPI models are required to install API groups and drive server-side
	// apply; ours come from openapi-gen (run by hack/controlplane.sh build).
	namer := openapinamer.NewDefinitionNamer(apiextensionsapiserver.Scheme, Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title = "Kubernetes"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title = "Kubernetes"

	extCfg := &apiextensionsapiserver.Config{
		GenericConfig: cfg,
		ExtraConfig: apiextensionsapiserver.ExtraConfig{
			CRDRESTOptionsGetter: apiextensionsoptions.NewCRDRESTOptionsGetter(*etcd, cfg.ResourceTransformers, cfg.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, cfg.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}
	completed := extCfg.Complete()
	// apiextensions turns discovery off because inside kube-apiserver another
	// server serves /api and /apis. Here it is the outermost server.
	cfg.EnableDiscovery = true
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	if err := installBuiltins(server.GenericAPIServer, cfg.RESTOptionsGetter); err != nil {
		return err
	}

	server.GenericAPIServer.AddPostStartHookOrDie("passbox-bootstrap-namespaces", bootstrapNamespaces)
	if rbac != nil {
		server.GenericAPIServer.AddPostStartHookOrDie("passbox-rbac-informers-synced", rbac.waitForSync)
	}

	ctx := genericapiserver.SetupSignalContext()
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// applyAdmission builds the admission chain on loopback clients; its policy
// informers (cfg.SharedInformerFactory) start with the server (the generic
// "start informers" hook).
func applyAdmission(admission *genericoptions.AdmissionOptions, cfg *genericapiserver.RecommendedConfig, clientset kubernetes.Interface) error {
	dynamicClient, err := dynamic.NewForConfig(cfg.LoopbackClientConfig)
	if err != nil {
		return fmt.Errorf("admission dynamic client: %w", err)
	}
	return admission.ApplyTo(&cfg.Config, cfg.SharedInformerFactory, clientset, dynamicClient,
		utilfeature.DefaultFeatureGate, cfg.EffectiveVersion)
}

// installBuiltins installs the stores of registry.go: core/v1 under /api,
// the other groups under /apis.
func installBuiltins(s *genericapiserver.GenericAPIServer, optsGetter generic.RESTOptionsGetter) error {
	groups := map[string]*genericapiserver.APIGroupInfo{}
	var order []string
	for i := range resources {
		r := &resources[i]
		info, ok := groups[r.gv.Group]
		if !ok {
			g := genericapiserver.NewDefaultAPIGroupInfo(r.gv.Group, Scheme, metav1.ParameterCodec, Codecs)
			info = &g
			groups[r.gv.Group] = info
			order = append(order, r.gv.Group)
		}
		storage, err := newStorage(r, optsGetter)
		if err != nil {
			return err
		}
		versioned := info.VersionedResourcesStorageMap[r.gv.Version]
		if versioned == nil {
			versioned = map[string]rest.Storage{}
			info.VersionedResourcesStorageMap[r.gv.Version] = versioned
		}
		for path, st := range storage {
			versioned[path] = st
		}
	}
	var named []*genericapiserver.APIGroupInfo
	for _, group := range order {
		if group == "" {
			if err := s.InstallLegacyAPIGroup(genericapiserver.DefaultLegacyAPIPrefix, groups[group]); err != nil {
				return fmt.Errorf("installing core/v1: %w", err)
			}
			continue
		}
		named = append(named, groups[group])
	}
	if err := s.InstallAPIGroups(named...); err != nil {
		return fmt.Errorf("installing API groups: %w", err)
	}
	return nil
}

// bootstrapNamespaces creates the namespaces every cluster has (kube-apiserver's
// bootstrap controller does this); /readyz waits for it.
func bootstrapNamespaces(ctx genericapiserver.PostStartHookContext) error {
	client, err := kubernetes.NewForConfig(ctx.LoopbackClientConfig)
	if err != nil {
		return err
	}
	for _, name := range []string{metav1.NamespaceDefault, metav1.NamespaceSystem, metav1.NamespacePublic, "kube-node-lease"} {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(c context.Context) (bool, error) {
			_, err := client.CoreV1().Namespaces().Create(c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				return true, nil
			}
			klog.V(2).InfoS("creating namespace, will retry", "namespace", name, "err", err)
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	return nil
}

func openAPIDefinitions(ref common.ReferenceCallback) map[string]common.OpenAPIDefinition {
	defs := generatedopenapi.GetOpenAPIDefinitions(ref)
	for name, def := range apiextensionsopenapi.GetOpenAPIDefinitions(ref) {
		defs[name] = def
	}
	return defs
}

// storageFactory is SimpleStorageFactory with a codec per API group.
type storageFactory struct {
	base            storagebackend.Config
	crdCodec, codec runtime.Codec
}

func (f *storageFactory) NewConfig(gr schema.GroupResource, example runtime.Object) (*storagebackend.ConfigForResource, error) {
	c := f.base
	c.Codec = f.codec
	if gr.Group == "apiextensions.k8s.io" {
		c.Codec = f.crdCodec
	}
	return c.ForResource(gr), nil
}

func (f *storageFactory) ResourcePrefix(gr schema.GroupResource) string {
	return gr.Group + "/" + gr.Resource
}

func (f *storageFactory) Configs() []storagebackend.Config { return serverstorage.Configs(f.base) }
func (f *storageFactory) Backends() []serverstorage.Backend {
	return serverstorage.Backends(f.base)
}

// noServices: conversion webhooks addressed by Service are not supported.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("service %s/%s: webhooks by service reference are not supported", namespace, name)
}
