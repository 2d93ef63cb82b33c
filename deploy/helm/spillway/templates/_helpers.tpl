{{/* Names and labels shared by every object of the chart. */}}
{{- define "spillway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "spillway.fullname" -}}
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

{{- define "spillway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spillway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "spillway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "spillway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "spillway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "spillway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "spillway.secretName" -}}
{{- if .Values.secret.create }}
{{- include "spillway.fullname" . }}
{{- else }}
{{- .Values.secret.existingSecret }}
{{- end }}
{{- end }}

{{/*
The config file: .Values.config with server.host/port/drain_grace from the chart's values, so the probes, the
Service and terminationGracePeriodSeconds always agree with what Spillway does. Setting them in .Values.config
would silently disagree, so it is refused.
*/}}
{{- define "spillway.config" -}}
{{- $server := deepCopy (default dict .Values.config.server) }}
{{- range $k := list "host" "port" "drain_grace" }}
{{- if hasKey $server $k }}
{{- fail (printf "config.server.%s is set by the chart: use the containerPort / drainGraceSeconds values instead" $k) }}
{{- end }}
{{- end }}
{{- $_ := set $server "host" "0.0.0.0" }}
{{- $_ := set $server "port" (int .Values.containerPort) }}
{{- $_ := set $server "drain_grace" (printf "%ds" (int .Values.drainGraceSeconds)) }}
{{- $config := deepCopy (omit .Values.config "server") }}
{{- $_ := set $config "server" $server }}
{{- toYaml $config }}
{{- end }}
