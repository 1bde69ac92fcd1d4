{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "passbox.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources. A release named like the chart (the usual
"helm install passbox") gives plain "passbox", the same names the kustomize config uses.
*/}}
{{- define "passbox.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Name of the metrics Service, also the job its ServiceMonitor scrapes as. The full name may already be 63
characters, the most a Service name holds: it is cut to leave room for "-metrics", without a trailing "-".
*/}}
{{- define "passbox.metricsName" -}}
{{- printf "%s-metrics" (include "passbox.fullname" . | trunc 55 | trimSuffix "-") }}
{{- end }}

{{/*
Refuses a metrics Service name the cluster would refuse. Every other object named after the full name (Deployment,
ServiceAccount, Lease, roles, NetworkPolicy, PodDisruptionBudget, ServiceMonitor, PrometheusRule, admission policy)
takes a DNS label or subdomain, which may start with a digit. A Service name is an RFC 1035 label, which must start
with a letter, up to Kubernetes 1.35; from 1.36 (RelaxedServiceNameValidation, beta and on by default) it is a DNS
label like the others. The schema can say neither "only when the Service is rendered" nor "on which cluster", and
the full name may come from the release name ("helm install 2fa-passbox"), which the schema never sees.
*/}}
{{- define "passbox.checkMetricsServiceName" -}}
{{- $name := include "passbox.metricsName" . }}
{{- $source := ternary (printf "fullnameOverride %q" .Values.fullnameOverride) (printf "the release name %q" .Release.Name) (not (empty .Values.fullnameOverride)) }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name) }}
{{- fail (printf "the metrics Service would be named %q after %s, but a Service name holds only a-z, 0-9 and -: set fullnameOverride to such a name, or metrics.service.enabled=false if you need no Service" $name $source) }}
{{- end }}
{{- if and (regexMatch "^[0-9]" $name) (not (semverCompare ">=1.36.0-0" .Capabilities.KubeVersion.Version)) }}
{{- fail (printf "the metrics Service would be named %q after %s, but before Kubernetes 1.36 a Service name must start with a letter (Kubernetes %s here; helm template assumes its own version, --kube-version sets it): set fullnameOverride to a name starting with a letter, or metrics.service.enabled=false if you need no Service" $name $source .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- end }}

{{- define "passbox.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every resource. */}}
{{- define "passbox.labels" -}}
helm.sh/chart: {{ include "passbox.chart" . }}
{{ include "passbox.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: passbox
{{- end }}

{{/* Labels the Deployment and the metrics Service select on; never change them in an upgrade. */}}
{{- define "passbox.selectorLabels" -}}
app.kubernetes.io/name: {{ include "passbox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
The operator's ServiceAccount. Without one of the chart's, the name must be given: falling back to the namespace's
"default" account would bind the operator's rights (reading and deleting Secrets) to every pod there that names
no account of its own.
*/}}
{{- define "passbox.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "passbox.fullname" .) .Values.serviceAccount.name }}
{{- else if .Values.serviceAccount.name }}
{{- .Values.serviceAccount.name }}
{{- else }}
{{- fail "serviceAccount.create=false needs serviceAccount.name (an existing ServiceAccount for the operator): the chart does not fall back to the namespace's \"default\" account, which would give the operator's rights (reading and deleting Secrets) to every pod there that names no account" }}
{{- end }}
{{- end }}

{{/*
The operator's image. A repository may carry a tag only together with image.digest: "repo:0.1.0@sha256:..." is a
valid reference (the tag documents, the digest is pulled), as values files pinned images before the schema checked
them; without a digest the chart's own tag would be appended ("repo:0.1.0:0.1.0"), which no runtime pulls.
*/}}
{{- define "passbox.image" -}}
{{- $tagged := regexMatch ":[^/]*$" .Values.image.repository }}
{{- if and $tagged (not .Values.image.digest) }}
{{- fail (printf "image.repository %q has a tag, which works only with image.digest (the tag would get a second one): write image.repository=%s and image.tag=%s, or set image.digest=sha256:... to pin it" .Values.image.repository (regexReplaceAll ":[^/]*$" .Values.image.repository "") (regexFind "[^:]*$" .Values.image.repository)) }}
{{- end }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
A duration of the chart's form (values.schema.json: 1h30m, 30s, 500ms) in milliseconds, to compare two of them.
*/}}
{{- define "passbox.durationMilliseconds" -}}
{{- $total := 0 }}
{{- range regexFindAll "[0-9]+(ms|s|m|h)" . -1 }}
{{- $count := int64 (regexFind "^[0-9]+" .) }}
{{- $unit := trimPrefix (regexFind "^[0-9]+" .) . }}
{{- $total = add $total (mul $count (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit)) }}
{{- end }}
{{- $total }}
{{- end }}
