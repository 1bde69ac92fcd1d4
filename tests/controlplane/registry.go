package main

import (
	"context"
	"fmt"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// resource describes one built-in kind. The registry is table driven: one
// generic strategy (below) serves every kind, using reflection on the
// conventional Spec/Status fields instead of per-kind code.
type resource struct {
	gv         schema.GroupVersion
	plural     string
	singular   string
	namespaced bool
	status     bool // has a /status subresource; main-resource updates keep the stored status
	generation bool // metadata.generation starts at 1 and bumps on spec changes
	shortNames []string
	categories []string
	newObj     func() runtime.Object
	newList    func() runtime.Object
	// nameCheck is the kind's name rule; nil keeps the generic path-segment rule
	// (RBAC names such as "system:controller" contain colons).
	nameCheck apimachineryvalidation.ValidateNameFunc
	// onCreate sets what the real kube-apiserver sets on create (e.g. phases).
	onCreate func(obj runtime.Object)
	// normalize runs on every create and update (dry runs and apply included).
	// It stands in for the conversion and defaulting code that Debian lacks,
	// for the few fields where tests would notice.
	normalize func(obj runtime.Object)
}

var (
	dnsSubdomain = apimachineryvalidation.NameIsDNSSubdomain
	dnsLabel     = apimachineryvalidation.NameIsDNSLabel
	dns1035Label = apimachineryvalidation.NameIsDNS1035Label
	all          = []string{"all"}
)

var resources = []resource{
	// core/v1
	{gv: corev1.SchemeGroupVersion, plural: "namespaces", singular: "namespace", status: true,
		shortNames: []string{"ns"}, nameCheck: dnsLabel,
		newObj: func() runtime.Object { return &corev1.Namespace{} }, newList: func() runtime.Object { return &corev1.NamespaceList{} },
		// No spec.finalizers "kubernetes": there is no namespace controller, so deletes are immediate.
		onCreate: func(o runtime.Object) { o.(*corev1.Namespace).Status.Phase = corev1.NamespaceActive }},
	{gv: corev1.SchemeGroupVersion, plural: "secrets", singular: "secret", namespaced: true, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &corev1.Secret{} }, newList: func() runtime.Object { return &corev1.SecretList{} },
		normalize: func(o runtime.Object) {
			secret := o.(*corev1.Secret)
			// kube's v1 -> internal conversion folds stringData into data (stringData wins).
			for k, v := range secret.StringData {
				if secret.Data == nil {
					secret.Data = map[string][]byte{}
				}
				secret.Data[k] = []byte(v)
			}
			secret.StringData = nil
			if secret.Type == "" {
				secret.Type = corev1.SecretTypeOpaque
			}
		}},
	{gv: corev1.SchemeGroupVersion, plural: "configmaps", singular: "configmap", namespaced: true,
		shortNames: []string{"cm"}, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &corev1.ConfigMap{} }, newList: func() runtime.Object { return &corev1.ConfigMapList{} }},
	{gv: corev1.SchemeGroupVersion, plural: "serviceaccounts", singular: "serviceaccount", namespaced: true,
		shortNames: []string{"sa"}, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &corev1.ServiceAccount{} }, newList: func() runtime.Object { return &corev1.ServiceAccountList{} }},
	{gv: corev1.SchemeGroupVersion, plural: "pods", singular: "pod", namespaced: true, status: true, generation: true,
		shortNames: []string{"po"}, categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &corev1.Pod{} }, newList: func() runtime.Object { return &corev1.PodList{} },
		onCreate: func(o runtime.Object) { o.(*corev1.Pod).Status.Phase = corev1.PodPending }},
	{gv: corev1.SchemeGroupVersion, plural: "services", singular: "service", namespaced: true, status: true,
		shortNames: []string{"svc"}, categories: all, nameCheck: dns1035Label,
		newObj: func() runtime.Object { return &corev1.Service{} }, newList: func() runtime.Object { return &corev1.ServiceList{} },
		normalize: func(o runtime.Object) {
			if svc := o.(*corev1.Service); svc.Spec.Type == "" {
				svc.Spec.Type = corev1.ServiceTypeClusterIP
			}
		}},
	{gv: corev1.SchemeGroupVersion, plural: "events", singular: "event", namespaced: true,
		shortNames: []string{"ev"}, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &corev1.Event{} }, newList: func() runtime.Object { return &corev1.EventList{} }},

	// events.k8s.io/v1: stored on its own (a real cluster shares storage with core events).
	{gv: eventsv1.SchemeGroupVersion, plural: "events", singular: "event", namespaced: true,
		shortNames: []string{"ev"}, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &eventsv1.Event{} }, newList: func() runtime.Object { return &eventsv1.EventList{} }},

	// coordination.k8s.io/v1
	{gv: coordinationv1.SchemeGroupVersion, plural: "leases", singular: "lease", namespaced: true, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &coordinationv1.Lease{} }, newList: func() runtime.Object { return &coordinationv1.LeaseList{} }},

	// apps/v1
	{gv: appsv1.SchemeGroupVersion, plural: "deployments", singular: "deployment", namespaced: true, status: true, generation: true,
		shortNames: []string{"deploy"}, categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &appsv1.Deployment{} }, newList: func() runtime.Object { return &appsv1.DeploymentList{} },
		normalize: func(o runtime.Object) { defaultReplicas(&o.(*appsv1.Deployment).Spec.Replicas) }},
	{gv: appsv1.SchemeGroupVersion, plural: "statefulsets", singular: "statefulset", namespaced: true, status: true, generation: true,
		shortNames: []string{"sts"}, categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &appsv1.StatefulSet{} }, newList: func() runtime.Object { return &appsv1.StatefulSetList{} },
		normalize: func(o runtime.Object) { defaultReplicas(&o.(*appsv1.StatefulSet).Spec.Replicas) }},
	{gv: appsv1.SchemeGroupVersion, plural: "daemonsets", singular: "daemonset", namespaced: true, status: true, generation: true,
		shortNames: []string{"ds"}, categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &appsv1.DaemonSet{} }, newList: func() runtime.Object { return &appsv1.DaemonSetList{} }},
	{gv: appsv1.SchemeGroupVersion, plural: "replicasets", singular: "replicaset", namespaced: true, status: true, generation: true,
		shortNames: []string{"rs"}, categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &appsv1.ReplicaSet{} }, newList: func() runtime.Object { return &appsv1.ReplicaSetList{} },
		normalize: func(o runtime.Object) { defaultReplicas(&o.(*appsv1.ReplicaSet).Spec.Replicas) }},

	// batch/v1
	{gv: batchv1.SchemeGroupVersion, plural: "jobs", singular: "job", namespaced: true, status: true, generation: true,
		categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &batchv1.Job{} }, newList: func() runtime.Object { return &batchv1.JobList{} }},
	{gv: batchv1.SchemeGroupVersion, plural: "cronjobs", singular: "cronjob", namespaced: true, status: true, generation: true,
		shortNames: []string{"cj"}, categories: all, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &batchv1.CronJob{} }, newList: func() runtime.Object { return &batchv1.CronJobList{} }},

	// policy/v1: stored only (the chart's PodDisruptionBudget); nothing here evicts Pods.
	{gv: policyv1.SchemeGroupVersion, plural: "poddisruptionbudgets", singular: "poddisruptionbudget", namespaced: true, status: true, generation: true,
		shortNames: []string{"pdb"}, nameCheck: dnsSubdomain,
		newObj: func() runtime.Object { return &policyv1.PodDisruptionBudget{} }, newList: func() runtime.Object { return &policyv1.PodDisruptionBudgetList{} }},

	// rbac.authorization.k8s.io/v1: stored only, never enforced.
	{gv: rbacv1.SchemeGroupVersion, plural: "clusterroles", singular: "clusterrole",
		newObj: func() runtime.Object { return &rbacv1.ClusterRole{} }, newList: func() runtime.Object { return &rbacv1.ClusterRoleList{} }},
	{gv: rbacv1.SchemeGroupVersion, plural: "clusterrolebindings", singular: "clusterrolebinding",
		newObj: func() runtime.Object { return &rbacv1.ClusterRoleBinding{} }, newList: func() runtime.Object { return &rbacv1.ClusterRoleBindingList{} }},
	{gv: rbacv1.SchemeGroupVersion, plural: "roles", singular: "role", namespaced: true,
		newObj: func() runtime.Object { return &rbacv1.Role{} }, newList: func() runtime.Object { return &rbacv1.RoleList{} }},
	{gv: rbacv1.SchemeGroupVersion, plural: "rolebindings", singular: "rolebinding", namespaced: true,
		newObj: func() runtime.Object { return &rbacv1.RoleBinding{} }, newList: func() runtime.Object { return &rbacv1.RoleBindingList{} }},

	// admissionregistration.k8s.io/v1: the policies the MutatingAdmissionPolicy
	// plugin (main.go) reads. Stored as given: the plugin compiles them and
	// reports a broken expression when a request matches, kube's own
	// validation of their CEL at create time is not here.
	{gv: admissionregistrationv1.SchemeGroupVersion, plural: "mutatingadmissionpolicies", singular: "mutatingadmissionpolicy",
		generation: true, categories: []string{"api-extensions"}, nameCheck: dnsSubdomain,
		newObj:  func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicy{} },
		newList: func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyList{} }},
	{gv: admissionregistrationv1.SchemeGroupVersion, plural: "mutatingadmissionpolicybindings", singular: "mutatingadmissionpolicybinding",
		generation: true, categories: []string{"api-extensions"}, nameCheck: dnsSubdomain,
		newObj:  func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBinding{} },
		newList: func() runtime.Object { return &admissionregistrationv1.MutatingAdmissionPolicyBindingList{} }},
	// The ValidatingAdmissionPolicy plugin's policies and bindings, stored the
	// same way. No controller here writes a policy's status.typeChecking.
	{gv: admissionregistrationv1.SchemeGroupVersion, plural: "validatingadmissionpolicies", singular: "validatingadmissionpolicy",
		status: true, generation: true, categories: []string{"api-extensions"}, nameCheck: dnsSubdomain,
		newObj:  func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} },
		newList: func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyList{} }},
	{gv: admissionregistrationv1.SchemeGroupVersion, plural: "validatingadmissionpolicybindings", singular: "validatingadmissionpolicybinding",
		generation: true, categories: []string{"api-extensions"}, nameCheck: dnsSubdomain,
		newObj:  func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{} },
		newList: func() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{} }},
	// The ValidatingAdmissionWebhook plugin's configurations. Only webhooks
	// addressed by clientConfig.url can be called: there are no Services or
	// Endpoints to resolve a clientConfig.service.
	{gv: admissionregistrationv1.SchemeGroupVersion, plural: "validatingwebhookconfigurations", singular: "validatingwebhookconfiguration",
		generation: true, categories: []string{"api-extensions"}, nameCheck: dnsSubdomain,
		newObj:  func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfiguration{} },
		newList: func() runtime.Object { return &admissionregistrationv1.ValidatingWebhookConfigurationList{} }},
}

// strategy is the create/update/delete strategy of one kind. With
// statusOnly set it is the strategy of the /status subresource instead.
type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
	r          *resource
	statusOnly bool
}

func (s strategy) NamespaceScoped() bool          { return s.r.namespaced }
func (s strategy) AllowCreateOnUpdate() bool      { return false }
func (s strategy) AllowUnconditionalUpdate() bool { return true }

func (s strategy) Canonicalize(obj runtime.Object) {
	if s.r.normalize != nil && !s.statusOnly {
		s.r.normalize(obj)
	}
}

// defaultReplicas is the one workload default operators commonly read back.
func defaultReplicas(replicas **int32) {
	if *replicas == nil {
		one := int32(1)
		*replicas = &one
	}
}

func (s strategy) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	if s.r.status {
		setField(obj, "Status", reflect.Zero(field_(obj, "Status").Type()))
	}
	if s.r.generation {
		mustAccessor(obj).SetGeneration(1)
	}
	if s.r.onCreate != nil {
		s.r.onCreate(obj)
	}
}

func (s strategy) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	if s.statusOnly {
		// As for custom resources: a status write changes the status and nothing
		// else (managedFields are kept, the field manager already tracked them).
		status := reflect.New(field_(obj, "Status").Type()).Elem()
		status.Set(field_(obj, "Status")) // copy: obj is overwritten next
		managed := mustAccessor(obj).GetManagedFields()
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(old.DeepCopyObject()).Elem())
		setField(obj, "Status", status)
		mustAccessor(obj).SetManagedFields(managed)
		return
	}
	if s.r.status {
		setField(obj, "Status", field_(old, "Status"))
	}
	newMeta, oldMeta := mustAccessor(obj), mustAccessor(old)
	newMeta.SetGeneration(oldMeta.GetGeneration())
	if s.r.generation && !apiequality.Semantic.DeepEqual(field_(obj, "Spec").Interface(), field_(old, "Spec").Interface()) {
		newMeta.SetGeneration(oldMeta.GetGeneration() + 1)
	}
}

// Validate checks object metadata only (name format, labels, annotations,
// owner references): Debian does not ship the kind-specific validation.
func (s strategy) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	if s.r.nameCheck == nil {
		return nil
	}
	return apimachineryvalidation.ValidateObjectMetaAccessor(mustAccessor(obj), s.r.namespaced, s.r.nameCheck, field.NewPath("metadata"))
}

func (s strategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}

func (s strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }
func (s strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

// GetResetFields tells server-side apply which fields a write through this
// endpoint cannot own: status on the main resource, spec on /status.
func (s strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	var path string
	switch {
	case s.statusOnly:
		path = "spec"
	case s.r.status:
		path = "status"
	default:
		return nil
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{
		fieldpath.APIVersion(s.r.gv.String()): fieldpath.NewSet(fieldpath.MakePathOrDie(path)),
	}
}

func field_(obj runtime.Object, name string) reflect.Value {
	return reflect.ValueOf(obj).Elem().FieldByName(name)
}

func setField(obj runtime.Object, name string, v reflect.Value) {
	field_(obj, name).Set(v)
}

func mustAccessor(obj runtime.Object) metav1.Object {
	m, err := meta.Accessor(obj)
	if err != nil {
		panic(err)
	}
	return m
}

// namedStore adds short names and categories (kubectl get deploy, get all).
type namedStore struct {
	*genericregistry.Store
	shortNames, categories []string
}

func (n *namedStore) ShortNames() []string { return n.shortNames }
func (n *namedStore) Categories() []string { return n.categories }

// statusREST serves /status: get, update and patch through a copy of the main
// store that uses the status strategy.
type statusREST struct{ store *genericregistry.Store }

func (r *statusREST) New() runtime.Object { return r.store.New() }
func (r *statusREST) Destroy()            {}
func (r *statusREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}
func (r *statusREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc,
	updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	// Subresources never create: ignore forceAllowCreate, like kube's status stores.
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}
func (r *statusREST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}
func (r *statusREST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}

// newStorage builds the etcd-backed stores ("plural" and maybe "plural/status") of one kind.
func newStorage(r *resource, optsGetter generic.RESTOptionsGetter) (map[string]rest.Storage, error) {
	gr := r.gv.WithResource(r.plural).GroupResource()
	main := strategy{ObjectTyper: Scheme, NameGenerator: names.SimpleNameGenerator, r: r}
	store := &genericregistry.Store{
		NewFunc:                   r.newObj,
		NewListFunc:               r.newList,
		DefaultQualifiedResource:  gr,
		SingularQualifiedResource: r.gv.WithResource(r.singular).GroupResource(),
		CreateStrategy:            main,
		UpdateStrategy:            main,
		DeleteStrategy:            main,
		ResetFieldsStrategy:       main,
		TableConvertor:            rest.NewDefaultTableConvertor(gr),
	}
	if err := store.CompleteWithOptions(&generic.StoreOptions{RESTOptions: optsGetter}); err != nil {
		return nil, fmt.Errorf("%s: %w", gr, err)
	}
	out := map[string]rest.Storage{r.plural: &namedStore{Store: store, shortNames: r.shortNames, categories: r.categories}}
	if r.status {
		statusStrategy := strategy{ObjectTyper: Scheme, NameGenerator: names.SimpleNameGenerator, r: r, statusOnly: true}
		statusStore := *store
		statusStore.CreateStrategy = nil
		statusStore.DeleteStrategy = nil
		statusStore.UpdateStrategy = statusStrategy
		statusStore.ResetFieldsStrategy = statusStrategy
		out[r.plural+"/status"] = &statusREST{store: &statusStore}
	}
	return out, nil
}
