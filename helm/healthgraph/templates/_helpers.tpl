{{/*
Chart name, truncated to 63 characters (the DNS-1123 label limit).
*/}}
{{- define "healthgraph.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name: release-chart, unless the release name already
contains the chart name. Truncated to 63 characters.
*/}}
{{- define "healthgraph.fullname" -}}
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
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "healthgraph.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels. They change with the chart and app version, so they are never
used in selectors.
*/}}
{{- define "healthgraph.labels" -}}
helm.sh/chart: {{ include "healthgraph.chart" . }}
{{ include "healthgraph.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: healthgraph
{{- end }}

{{/*
Selector labels: immutable once a release exists (a Deployment's selector cannot
change), so they hold nothing that varies between upgrades.
*/}}
{{- define "healthgraph.selectorLabels" -}}
app.kubernetes.io/name: {{ include "healthgraph.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Selector labels of the API pods (Deployment, Service, PDB, spread, monitoring).
The component keeps the migration and test pods out of the Service.
*/}}
{{- define "healthgraph.apiSelectorLabels" -}}
{{ include "healthgraph.selectorLabels" . }}
app.kubernetes.io/component: api
{{- end }}

{{/*
Name of the ServiceAccount the API pods use.
*/}}
{{- define "healthgraph.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "healthgraph.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference: repository@digest when a digest is set, else repository:tag
(tag defaulting to the chart's appVersion).
*/}}
{{- define "healthgraph.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Name of the Secret holding HG_DATABASE_URL and the JWT key: the user's
existingSecret, or the one this chart makes.
*/}}
{{- define "healthgraph.secretName" -}}
{{- if .Values.existingSecret }}
{{- .Values.existingSecret }}
{{- else }}
{{- include "healthgraph.fullname" . }}
{{- end }}
{{- end }}

{{/*
Key names inside that Secret.
*/}}
{{- define "healthgraph.secretKey.databaseUrl" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.databaseUrl }}{{ else }}HG_DATABASE_URL{{ end }}
{{- end }}

{{- define "healthgraph.secretKey.jwtKey" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.jwtKey }}{{ else }}HG_JWT_KEY{{ end }}
{{- end }}

{{- define "healthgraph.secretKey.phiKeys" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.phiKeys }}{{ else }}HG_PHI_KEYS{{ end }}
{{- end }}

{{- define "healthgraph.secretKey.phiIndexKey" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.phiIndexKey }}{{ else }}HG_PHI_INDEX_KEY{{ end }}
{{- end }}

{{/*
The Secret volume of the key files (JWT and PHI keys), mounted at
/var/run/secrets/healthgraph by the API and the migration Job. Takes the
Secret's name.
*/}}
{{- define "healthgraph.keysVolume" -}}
- name: keys
  secret:
    secretName: {{ .secretName }}
    defaultMode: 0440
    items:
      - key: {{ include "healthgraph.secretKey.jwtKey" .root }}
        path: jwt_key
      - key: {{ include "healthgraph.secretKey.phiKeys" .root }}
        path: phi_keys
      - key: {{ include "healthgraph.secretKey.phiIndexKey" .root }}
        path: phi_index_key
{{- end }}

{{/*
Key of the Redis URL in the Secret, or empty when the Redis URL is plain config.
*/}}
{{- define "healthgraph.secretKey.redisUrl" -}}
{{- if .Values.existingSecret }}{{ .Values.existingSecretKeys.redisUrl }}{{ else if .Values.secrets.redisUrl }}HG_REDIS_URL{{ end }}
{{- end }}

{{/*
Refuse values that would render a broken release, with a message that says
what to set. Included by every template that depends on them.
*/}}
{{- define "healthgraph.validateValues" -}}
{{- if not .Values.existingSecret }}
{{- if not (and .Values.secrets.databaseUrl .Values.secrets.jwtKey) }}
{{- fail "healthgraph: the database secret is missing: set existingSecret to a Secret holding HG_DATABASE_URL, HG_JWT_KEY, HG_PHI_KEYS and HG_PHI_INDEX_KEY, or set both secrets.databaseUrl and secrets.jwtKey (and secrets.phiKeys, secrets.phiIndexKey)" }}
{{- end }}
{{- if not (and .Values.secrets.phiKeys .Values.secrets.phiIndexKey) }}
{{- fail "healthgraph: the PHI keys are missing: set secrets.phiKeys (id:key, from `healthgraph phi genkey`) and secrets.phiIndexKey (`openssl rand -base64 32`), or use existingSecret" }}
{{- end }}
{{- end }}
{{- $drain := add .Values.preStopSleepSeconds .Values.config.shutdownTimeoutSeconds }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $drain) }}
{{- fail (printf "healthgraph: terminationGracePeriodSeconds (%d) must exceed preStopSleepSeconds + config.shutdownTimeoutSeconds (%d), or pods are killed mid-drain" (int .Values.terminationGracePeriodSeconds) (int $drain)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "healthgraph: autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}

{{/*
Shared pod pieces for the API, the migration Job and the test pod.
*/}}
{{- define "healthgraph.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "healthgraph.containerSecurityContext" -}}
{{- toYaml .Values.securityContext }}
{{- end }}

{{/*
Resources block from a {requests, limits} value, leaving out empty entries
(an empty CPU limit means "no limit").
*/}}
{{- define "healthgraph.resources" -}}
{{- range $kind := list "requests" "limits" }}
{{- $set := dict }}
{{- range $k, $v := (get $.resources $kind | default dict) }}
{{- if $v }}{{ $_ := set $set $k $v }}{{ end }}
{{- end }}
{{- if $set }}
{{ $kind }}:
{{- toYaml $set | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Egress rules of a NetworkPolicy: DNS (UDP and TCP) to networkPolicy.dns.to,
then each named egress.<name> with CIDRs, then networkPolicy.extraEgress.
Takes "np" (networkPolicy values) and "names".
*/}}
{{- define "healthgraph.egressRules" -}}
{{- $np := .np }}
# DNS: the cluster DNS and any node-local cache.
- to:
    {{- toYaml $np.dns.to | nindent 4 }}
  ports:
    - port: {{ $np.dns.port }}
      protocol: UDP
    - port: {{ $np.dns.port }}
      protocol: TCP
{{- range $name := .names }}
{{- $rule := get $np.egress $name }}
{{- if $rule.cidrs }}
# {{ $name }}
- to:
    {{- range $rule.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - port: {{ $rule.port }}
      protocol: TCP
{{- end }}
{{- end }}
{{- with $np.extraEgress }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The Deployment's replicas. Without the HPA: replicaCount. With it: nothing on
a fresh install (the HPA owns the scale), but on an upgrade the live
Deployment's current count (at least minReplicas): dropping the field from the
manifest would make Helm's patch reset it to 1 before the HPA reacts, which is
what enabling the HPA in an upgrade did. `helm template` has no cluster to ask
and leaves it out.
*/}}
{{- define "healthgraph.replicas" -}}
{{- if not .Values.autoscaling.enabled }}
{{- .Values.replicaCount }}
{{- else }}
{{- $live := lookup "apps/v1" "Deployment" .Release.Namespace (include "healthgraph.fullname" .) }}
{{- if and $live $live.spec $live.spec.replicas }}
{{- max (int $live.spec.replicas) (int .Values.autoscaling.minReplicas) }}
{{- end }}
{{- end }}
{{- end }}
