{{/*
The operator's permissions, split by scope (rbac.yaml puts them in a ClusterRole or a Role). Keep both identical,
together, to config/rbac/operator/role.yaml: a test compares them.
*/}}
{{/* Namespaced objects: credentials, Secrets, Events and the workloads and runs that may use a Secret. */}}
{{- define "passbox.namespacedRules" -}}
# The credentials themselves: list/watch to reconcile, patch to add and remove the in-use finalizer, get to
# re-read after a conflict and to look up a managed user's admin credential. The operator never updates them whole.
- apiGroups: [passbox.dev]
  resources: [clustercredentials, pipelinecredentials]
  verbs: [get, list, watch, patch]
- apiGroups: [passbox.dev]
  resources: [clustercredentials/status, pipelinecredentials/status]
  verbs: [patch]
# Never requested: the generated Secret's ownerReference sets blockOwnerDeletion, which the
# OwnerReferencesPermissionEnforcement admission plugin allows only with update on the owner's finalizers.
- apiGroups: [passbox.dev]
  resources: [clustercredentials/finalizers, pipelinecredentials/finalizers]
  verbs: [update]
# Generated Secrets (created, repaired with server-side apply, deleted with their credential), source Secrets
# (metadata-only watch, read on demand) and generated passwords of managed users (created, patched on rotation).
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
# Events; a repeated one is patched (count, lastTimestamp) rather than created again.
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
# In-use protection: who references a generated Secret.
- apiGroups: [""]
  resources: [pods, serviceaccounts]
  verbs: [list, watch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets, replicasets]
  verbs: [list, watch]
# Restarts on a changed Secret for workloads that opt in with Stakater Reloader's annotations.
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [patch]
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: [list, watch]
- apiGroups: [tekton.dev]
  resources: [pipelineruns, taskruns, pipelines, tasks]
  verbs: [list, watch]
- apiGroups: [argoproj.io]
  resources: [workflows, cronworkflows, workflowtemplates]
  verbs: [list, watch]
# Argo Rollouts, while their CRD exists (seen through the CRD watch): watched for in-use protection like
# Deployments, listed and patched (spec.restartAt) to restart those that opt in when a restart is owed.
- apiGroups: [argoproj.io]
  resources: [rollouts]
  verbs: [list, watch, patch]
{{- end }}

{{/* Cluster-scoped objects. */}}
{{- define "passbox.clusterRules" -}}
# Tekton runs, Argo Workflows and CronWorkflows and Argo Rollouts use Secrets too, directly or through the Tasks,
# Pipelines, WorkflowTemplates, ClusterWorkflowTemplates and Deployments they name: their CRDs are watched (metadata
# only) so these are watched from the moment a CRD exists, whether it was installed before the operator or after;
# get reads a found CRD's served versions.
- apiGroups: [apiextensions.k8s.io]
  resources: [customresourcedefinitions]
  verbs: [get, list, watch]
{{- end }}

{{/* Cluster-scoped objects read only by an operator that watches every namespace (no watchNamespace). */}}
{{- define "passbox.clusterWideRules" -}}
# ClusterWorkflowTemplates are cluster-scoped: with watchNamespace set they are not read (annotate Workflows that run
# one passbox.dev/uses).
- apiGroups: [argoproj.io]
  resources: [clusterworkflowtemplates]
  verbs: [list, watch]
{{- end }}
