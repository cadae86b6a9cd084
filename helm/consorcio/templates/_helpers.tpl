{{/*
Shared pieces of the consorcio chart. Resource names are the service names (identidade, grupos…),
so that in-namespace DNS (http://identidade:7001) and the Istio principals
(cluster.local/ns/<namespace>/sa/<service>) match what istio/ and the services expect.
*/}}

{{- define "consorcio.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "consorcio.commonLabels" -}}
app.kubernetes.io/part-of: consorcio
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Selector of a service's serving pods. Argument: dict "root" $ "name" <service>. */}}
{{- define "consorcio.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: server
{{- end -}}

{{/* Labels of a service's resources. Argument: dict "root" $ "name" <service>. */}}
{{- define "consorcio.serviceLabels" -}}
{{ include "consorcio.commonLabels" .root }}
app.kubernetes.io/name: {{ .name }}
app: {{ .name }}
{{- end -}}

{{/*
Environment of a service's migrate Job: the migration role's URL (owner of the tables), the name
of the service role it grants, the broker (it declares the consumers' queues) and the service's
non-secret settings; none of the service's own secrets. Argument: dict "root" $ "name" <service>
"svc" <values>.
*/}}
{{- define "consorcio.migrateEnv" -}}
{{- $refs := .root.Values.secretRefs -}}
- name: SERVICE
  value: {{ .name | quote }}
- name: MIGRATION_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ printf $refs.database.migrationNameTemplate .name }}
      key: {{ $refs.database.migrationKey }}
- name: DATABASE_SERVICE_ROLE
  value: {{ printf $refs.database.serviceRoleTemplate .name | quote }}
- name: AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $refs.amqp.name }}
      key: {{ $refs.amqp.key }}
{{- range $key, $ref := .svc.secretEnv }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- range $key, $value := .svc.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/*
Environment every serving container of a service gets besides the ConfigMap: its identity and
the references to existing Secrets, DATABASE_URL being the service role's (DML only).
Argument: dict "root" $ "name" <service> "svc" <values>.
*/}}
{{- define "consorcio.serviceEnv" -}}
{{- $refs := .root.Values.secretRefs -}}
- name: SERVICE
  value: {{ .name | quote }}
- name: PORT
  value: {{ .svc.port | quote }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ printf $refs.database.nameTemplate .name }}
      key: {{ $refs.database.key }}
- name: AMQP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $refs.amqp.name }}
      key: {{ $refs.amqp.key }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $refs.redis.name }}
      key: {{ $refs.redis.key }}
- name: S3_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $refs.s3.name }}
      key: {{ $refs.s3.accessKeyKey }}
- name: S3_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $refs.s3.name }}
      key: {{ $refs.s3.secretKeyKey }}
- name: SERVICE_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $refs.serviceAccounts.name }}
      key: {{ .name }}
      optional: true
{{- if .svc.jwtSigner }}
- name: SERVICE_ACCOUNTS
  valueFrom:
    secretKeyRef:
      name: {{ $refs.serviceAccounts.name }}
      key: {{ $refs.serviceAccounts.accountsKey }}
      optional: true
- name: IDENTIDADE_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $refs.identidade.name }}
      key: {{ $refs.identidade.secretKeyKey }}
- name: CONSORCIO_ADMIN_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $refs.identidade.name }}
      key: {{ $refs.identidade.adminPasswordKey }}
      optional: true
{{- end }}
{{- if .svc.personalData }}
- name: PII_MASTER_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $refs.pii.name }}
      key: {{ $refs.pii.masterKeyKey }}
- name: PII_INDEX_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $refs.pii.name }}
      key: {{ $refs.pii.indexKeyKey }}
{{- end }}
{{- range $key, $value := .svc.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
