variable "name" {
  description = "Name of the replicator: the functions (<name>, <name>-drain, <name>-copy), their roles and log groups, the state table, the failure bucket, the drain's schedule, the state machine and the alarms are all named from it. Unique per account and region; the metric dimension Replicator."
  type        = string
  default     = "dynamo-replicator"

  validation {
    # The drain's function adds "-drain" and Lambda function names stop at 64
    # characters. Role and bucket names that would pass IAM's 64 or S3's 63
    # are shortened with a hash (locals.tf).
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.name))
    error_message = "name must be 1 to 56 letters, digits, hyphens or underscores, e.g. \"orders-replicator\"."
  }
}

variable "region" {
  description = "Region of the master table, where the functions, mapping, state table, failure bucket, schedule, state machine and alarms are created. Null means the provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.region))
    error_message = "region must look like an AWS region, e.g. \"eu-west-1\", or be left null to use the provider's region."
  }
}

variable "master_table_name" {
  description = "Name of the existing master table whose stream is replicated. Its stream must be enabled."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.master_table_name))
    error_message = "master_table_name must be a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.'), not an ARN, e.g. \"orders\"."
  }
}

variable "slaves" {
  description = <<-EOT
    Slave tables keyed by a stable logical name (used in policy names, metric dimensions and resource addresses).
    region: the slave's region. table_name: its name. role_arn: for a table in another account, the role the function assumes to write it.
    external_id: the external ID that role's trust policy demands (only with role_arn). endpoint: a DynamoDB endpoint URL, for emulators only.
    create_table: create the table in its region with the master's key schema and billing mode (same-account slaves only).
    kms_key_arn: the customer managed KMS key of the slave's table, in its region (same-account slaves only): a created table is encrypted with it, and the functions' roles may use it through DynamoDB. Null: the key DynamoDB owns (or the AWS managed key). For a slave in another account, give the key to modules/slave-access-role (kms_key_arns).
    initial_copy: the slave joins with a copy of the master's items: its changes are parked from the stream function's first invocation until the copy marks it copied, then the drain applies them (see docs/module.md). It may stay set after that.
    enabled: false pauses the slave without destroying its table: its changes are parked in the state table, never written, and the drain leaves them there until it is enabled again, then applies them in order.
  EOT
  type = map(object({
    region       = string
    table_name   = string
    role_arn     = optional(string)
    external_id  = optional(string)
    endpoint     = optional(string)
    create_table = optional(bool, false)
    kms_key_arn  = optional(string)
    initial_copy = optional(bool, false)
    enabled      = optional(bool, true)
  }))

  validation {
    condition     = length(var.slaves) > 0
    error_message = "slaves must name at least one table, e.g. slaves = { copy = { region = \"eu-west-1\", table_name = \"orders-copy\" } }."
  }

  validation {
    condition     = alltrue([for k in keys(var.slaves) : can(regex("^[A-Za-z0-9_-]{1,32}$", k))])
    error_message = "Each key of slaves must be 1 to 32 letters, digits, hyphens or underscores (it names IAM policies and metric dimensions), e.g. \"eu\" or \"reporting_copy\"."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", s.region))])
    error_message = "Each slave's region must look like an AWS region, e.g. \"eu-west-1\" (not an availability zone like \"eu-west-1a\", nor a display name)."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : can(regex("^[A-Za-z0-9_.-]{3,255}$", s.table_name))])
    error_message = "Each slave's table_name must be a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.'), not an ARN, e.g. \"orders-copy\"."
  }

  validation {
    condition = length(distinct([
      for s in values(var.slaves) : "${s.region}/${s.table_name}/${coalesce(s.role_arn, "-")}"
    ])) == length(var.slaves)
    error_message = "Two slaves name the same table (same region, table_name and role_arn): each table must appear once; remove the duplicate entry."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", s.role_arn))])
    error_message = "Each slave's role_arn must be an IAM role ARN, e.g. \"arn:aws:iam::111122223333:role/orders-slave-writer\", or be left out for a table in this account."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.external_id == null || s.role_arn != null])
    error_message = "external_id is only used when assuming role_arn: set role_arn on that slave too, or remove external_id."
  }

  validation {
    # RE2 caps a repetition at 1000, hence the length test apart.
    condition     = alltrue([for s in values(var.slaves) : s.external_id == null || (can(regex("^[A-Za-z0-9+=,.@:/_-]+$", s.external_id)) && try(length(s.external_id) >= 2 && length(s.external_id) <= 1224, false))])
    error_message = "Each slave's external_id must be 2 to 1224 characters among letters, digits and +=,.@:/_-."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : !(s.create_table && s.role_arn != null)])
    error_message = "create_table works only for slaves in this account: for a slave written through role_arn, create its table in the other account (see modules/replica-table) and set create_table = false."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.kms_key_arn == null || s.role_arn == null])
    error_message = "kms_key_arn is for slaves in this account: for a slave written through role_arn, give its table's key to modules/slave-access-role (kms_key_arns) in the slave's account, and remove kms_key_arn here."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", s.kms_key_arn))])
    error_message = "Each slave's kms_key_arn must be a KMS key ARN in the slave's region, e.g. \"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias or a key ID)."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.kms_key_arn == null || try(split(":", s.kms_key_arn)[3] == s.region, false)])
    error_message = "Each slave's kms_key_arn must be a key of the slave's own region (DynamoDB uses only keys of the table's region): take the key, or the multi-Region replica key, whose ARN names that region."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.endpoint == null || can(regex("^https?://[^\\s]+$", s.endpoint))])
    error_message = "Each slave's endpoint must be an http(s) URL such as \"http://127.0.0.1:8000\", or be left out to use the AWS endpoint."
  }
}

variable "enabled" {
  description = "Whether the event source mapping reads the stream. A slave added to a table that already holds items needs no pause: mark it initial_copy instead (see docs/backfill.md)."
  type        = bool
  default     = true
}

variable "create_package" {
  description = "Zip the bundled handler at plan time with archive_file, into .terraform of the calling root. Set false to deploy local_existing_package instead: a plan saved on one machine and applied on another (a CI runner) needs it, since the zip written at plan time is not there at apply."
  type        = bool
  default     = true
}

variable "local_existing_package" {
  description = "With create_package = false, the zip the functions deploy (index.mjs at its root, exporting handler, drain and copySegment). Null deploys dist/lambda/function.zip, which `npm run build` writes deterministically from the same bundle and which is committed with the module."
  type        = string
  default     = null

  validation {
    condition     = var.local_existing_package == null || endswith(coalesce(var.local_existing_package, "-"), ".zip")
    error_message = "local_existing_package must be the path of a .zip file, e.g. \"build/replicator.zip\", or null for the zip committed with the module."
  }
}

variable "runtime" {
  description = "Lambda runtime of the function."
  type        = string
  default     = "nodejs22.x"

  validation {
    condition     = contains(["nodejs22.x", "nodejs24.x"], var.runtime)
    error_message = "runtime must be \"nodejs22.x\" or \"nodejs24.x\": the bundle targets Node.js 22 and later."
  }
}

variable "architecture" {
  description = "Instruction set of the function: arm64 costs 20% less per GB-second."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB; CPU and network bandwidth grow with it."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240, e.g. 512."
  }
}

variable "timeout" {
  description = "Timeout of one invocation of the stream function in seconds. It must exceed slave_write_budget_seconds: the rest of the invocation writes parked changes to the state table, retried until the deadline."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900, e.g. 120."
  }
}

variable "slave_write_budget_seconds" {
  description = "Seconds a slave gets to take one batch's writes before the rest of them are parked in the state table for the drain, so one slow slave holds back no other. Must be less than timeout."
  type        = number
  default     = 5

  validation {
    condition     = var.slave_write_budget_seconds >= 1 && var.slave_write_budget_seconds <= 60 && floor(var.slave_write_budget_seconds) == var.slave_write_budget_seconds
    error_message = "slave_write_budget_seconds must be a whole number of seconds between 1 and 60, e.g. 5."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; -1 reserves none. The mapping runs at most shards x parallelization_factor invocations at once."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be -1 (no reservation) or a whole number >= 0; 0 stops replication."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the log group with. Null keeps CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "skip_ttl_deletes" {
  description = "Do not replicate deletes made by the master's TTL, so slaves keep expired items (an archive)."
  type        = bool
  default     = false
}

variable "write_concurrency" {
  description = "Concurrent BatchWriteItem calls per slave within one invocation. 16 is where the measured curve flattens (README, Benchmark)."
  type        = number
  default     = 16

  validation {
    condition     = var.write_concurrency >= 1 && var.write_concurrency <= 64 && floor(var.write_concurrency) == var.write_concurrency
    error_message = "write_concurrency must be a whole number between 1 and 64, e.g. 16."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the metrics the functions write: per slave (dimensions Replicator, Slave) RecordsReplicated, WriteRetries, ReplicationLatency, ParkedRecords, FailedRecords, DrainedRecords, ParkedPending, OldestParkedAgeSeconds; per replicator (dimension Replicator) RejectedRecords, ConfigurationErrors."
  type        = string
  default     = "DynamoReplicator"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.#:/-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1 to 255 letters, digits or _.#:/- and must not start with \"AWS/\", e.g. \"DynamoReplicator\"."
  }
}

variable "log_level" {
  description = "Level of the functions' JSON log lines, as POWERTOOLS_LOG_LEVEL (Powertools for AWS Lambda Logger): INFO logs one line per batch and per drained slave, WARN only batches with parked changes or errors, ERROR only batches re-delivered or refused, SILENT none. Metrics are written at every level."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN", "ERROR", "SILENT"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARN, ERROR or SILENT (upper case), e.g. \"WARN\"."
  }
}

variable "batch_size" {
  description = "Largest number of stream records in one invocation. With no batching window a larger batch adds no lag: it fills only when records wait (a backlog), and then carries them in fewer invocations."
  type        = number
  default     = 1000

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000, e.g. 1000."
  }
}

variable "maximum_batching_window_in_seconds" {
  description = "Seconds the mapping may wait to fill a batch. 0 invokes as soon as records arrive: the lowest replication lag."
  type        = number
  default     = 0

  validation {
    condition     = var.maximum_batching_window_in_seconds >= 0 && var.maximum_batching_window_in_seconds <= 300 && floor(var.maximum_batching_window_in_seconds) == var.maximum_batching_window_in_seconds
    error_message = "maximum_batching_window_in_seconds must be a whole number between 0 and 300."
  }
}

variable "parallelization_factor" {
  description = "Batches processed at once per shard. Records of one key stay in order whatever the value; raise it when IteratorAge grows."
  type        = number
  default     = 1

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10 && floor(var.parallelization_factor) == var.parallelization_factor
    error_message = "parallelization_factor must be a whole number between 1 and 10."
  }
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch before its invocation record is written to the failure bucket and its shard moves on; -1 retries until the record leaves the stream (24 hours). A batch fails only while the state table cannot be written (a slow or failing slave is parked instead), so the default waits rather than skips; a lower value lets a shard move on past changes that then reach the slaves only through redrive."
  type        = number
  default     = -1

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be -1 (until the record expires) or a whole number between 0 and 10000, e.g. -1."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are not retried: their batch's invocation record goes to the failure bucket; -1 retries them until they leave the stream (24 hours). The same trade-off as maximum_retry_attempts: a lower value keeps the shard moving during a long state-table outage, and the skipped changes must be redriven."
  type        = number
  default     = -1

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800 && floor(var.maximum_record_age_in_seconds) == var.maximum_record_age_in_seconds)
    error_message = "maximum_record_age_in_seconds must be -1 or a whole number between 60 and 604800, e.g. -1 (retry until the stream trims the record) or 43200 (12 hours)."
  }
}

variable "bisect_batch_on_function_error" {
  description = "Split a failing batch in two and retry each half, so one bad record cannot hold back the others."
  type        = bool
  default     = true
}

variable "starting_position" {
  description = "Where the mapping starts reading: TRIM_HORIZON (every record still in the stream) or LATEST (only new ones)."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be \"TRIM_HORIZON\" or \"LATEST\" (DynamoDB streams have no AT_TIMESTAMP)."
  }
}

variable "failure_bucket_expiration_days" {
  description = "Days the failure bucket keeps an invocation record of a batch given up on (and, with versioning, a noncurrent version) before deleting it."
  type        = number
  default     = 90

  validation {
    condition     = var.failure_bucket_expiration_days >= 1 && floor(var.failure_bucket_expiration_days) == var.failure_bucket_expiration_days
    error_message = "failure_bucket_expiration_days must be a whole number of days, at least 1, e.g. 90."
  }
}

variable "failure_bucket_kms_key_arn" {
  description = "ARN of a KMS key to encrypt the failure bucket with (SSE-KMS, with an S3 Bucket Key). Null uses SSE-S3 (AES256)."
  type        = string
  default     = null

  validation {
    condition     = var.failure_bucket_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.failure_bucket_kms_key_arn))
    error_message = "failure_bucket_kms_key_arn must be a KMS key ARN, e.g. \"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias), or be left null for SSE-S3."
  }
}

variable "failure_bucket_versioning" {
  description = "Enable versioning on the failure bucket. Each invocation record is written once under its own key, so versioning only guards against deletes."
  type        = bool
  default     = false
}

variable "state_table_kms_key_arn" {
  description = "ARN of a customer managed KMS key to encrypt the state table with; the functions' roles may use it through DynamoDB. Null uses the AWS managed key aws/dynamodb."
  type        = string
  default     = null

  validation {
    condition     = var.state_table_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.state_table_kms_key_arn))
    error_message = "state_table_kms_key_arn must be a KMS key ARN, e.g. \"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias), or be left null for the AWS managed key."
  }
}

variable "state_table_deletion_protection" {
  description = "Enable deletion protection on the state table: it holds changes parked for slaves that no other copy holds once the stream trims them. Set false before destroying the module."
  type        = bool
  default     = true
}

variable "create_role" {
  description = "Create the functions' IAM roles (stream function, drain, copy function), as terraform-aws-lambda's create_role. False: the module creates none of them nor their policies, and the three functions run with lambda_role, which must grant what output policy_documents lists. The state machine's role is created either way."
  type        = bool
  default     = true
}

variable "lambda_role" {
  description = "ARN of an existing IAM role the three functions run with when create_role is false (terraform-aws-lambda's lambda_role). It must trust lambda.amazonaws.com, and is then the principal a cross-account slave's writer role trusts (output slave_writer_principal_arns)."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_role == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", var.lambda_role))
    error_message = "lambda_role must be an IAM role ARN, e.g. \"arn:aws:iam::111122223333:role/orders-replicator\", or be left null when create_role is true."
  }
}

variable "role_path" {
  description = "Path of the IAM roles the module creates (terraform-aws-lambda's role_path), e.g. \"/replication/\". Null is \"/\". Role ARNs, and output slave_writer_principal_arns, hold the path."
  type        = string
  default     = null

  validation {
    condition     = var.role_path == null || can(regex("^/([!-~]{0,510}/)?$", var.role_path))
    error_message = "role_path must start and end with \"/\", e.g. \"/replication/\" (at most 512 printable ASCII characters, no spaces), or be left null for \"/\"."
  }
}

variable "role_permissions_boundary" {
  description = "ARN of the managed policy set as the permissions boundary of every IAM role the module creates (terraform-aws-lambda's role_permissions_boundary). It must allow what each role's policies grant, or those calls are denied."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be the ARN of a managed IAM policy, e.g. \"arn:aws:iam::111122223333:policy/replication-boundary\", or be left null."
  }
}

variable "attach_policy_json" {
  description = "Add policy_json as an inline policy of each function role the module creates (terraform-aws-lambda's attach_policy_json). A flag apart from policy_json, so that a policy_json known only after apply still plans."
  type        = bool
  default     = false
}

variable "policy_json" {
  description = "An IAM policy document (JSON) added to each function role the module creates (stream, drain, copy) when attach_policy_json is true, e.g. data.aws_iam_policy_document.extra.json."
  type        = string
  default     = null

  validation {
    condition     = var.policy_json == null || can(jsondecode(var.policy_json).Statement)
    error_message = "policy_json must be an IAM policy document in JSON with a Statement, e.g. data.aws_iam_policy_document.extra.json, or be left null."
  }
}

variable "attach_policy_statements" {
  description = "Add policy_statements as an inline policy of each function role the module creates (terraform-aws-lambda's attach_policy_statements)."
  type        = bool
  default     = false
}

variable "policy_statements" {
  description = <<-EOT
    IAM statements added, as one inline policy, to each function role the module creates (stream, drain, copy) when attach_policy_statements is true: terraform-aws-lambda's policy_statements, typed.
    The map key is the statement's Sid unless sid is set (characters other than letters and digits dropped). effect: "Allow" (default) or "Deny".
    Exactly one of actions and not_actions, and one of resources and not_resources. condition: a list of { test, variable, values }, e.g. { test = "StringEquals", variable = "aws:RequestedRegion", values = ["eu-west-1"] }.
  EOT
  type = map(object({
    sid           = optional(string)
    effect        = optional(string, "Allow")
    actions       = optional(list(string))
    not_actions   = optional(list(string))
    resources     = optional(list(string))
    not_resources = optional(list(string))
    condition = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for st in values(var.policy_statements) : contains(["Allow", "Deny"], st.effect)])
    error_message = "Each policy_statements entry's effect must be \"Allow\" or \"Deny\"."
  }

  validation {
    condition     = alltrue([for st in values(var.policy_statements) : (st.actions == null) != (st.not_actions == null) && (st.resources == null) != (st.not_resources == null)])
    error_message = "Each policy_statements entry needs exactly one of actions and not_actions, and exactly one of resources and not_resources, e.g. { actions = [\"kms:Decrypt\"], resources = [\"arn:aws:kms:eu-west-1:111122223333:key/...\"] }."
  }

  validation {
    condition     = alltrue([for key, st in var.policy_statements : can(regex("^[0-9A-Za-z]+$", coalesce(st.sid, replace(key, "/[^0-9A-Za-z]/", ""), "-")))])
    error_message = "Each policy_statements entry needs a Sid of letters and digits: a key with at least one letter or digit, or sid = \"ReadArchive\"."
  }

  validation {
    condition     = length(distinct([for key, st in var.policy_statements : coalesce(st.sid, replace(key, "/[^0-9A-Za-z]/", ""), "-")])) == length(var.policy_statements)
    error_message = "Two policy_statements entries have the same Sid (from their sid, or their key without its other characters): IAM requires each Sid to be unique in a policy; rename one."
  }

  validation {
    condition     = alltrue([for st in values(var.policy_statements) : length(distinct([for c in st.condition : "${c.test}/${c.variable}"])) == length(st.condition)])
    error_message = "A policy_statements entry's condition names the same test and variable twice: put all the values in one { test, variable, values }."
  }
}

variable "drain_schedule_expression" {
  description = "EventBridge schedule of the drain, which applies parked changes and reports ParkedPending and OldestParkedAgeSeconds every run."
  type        = string
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.drain_schedule_expression))
    error_message = "drain_schedule_expression must be an EventBridge schedule expression, e.g. \"rate(1 minute)\" or \"cron(0/2 * * * ? *)\"."
  }
}

variable "drain_timeout" {
  description = "Timeout of one drain run in seconds."
  type        = number
  default     = 300

  validation {
    condition     = var.drain_timeout >= 1 && var.drain_timeout <= 900 && floor(var.drain_timeout) == var.drain_timeout
    error_message = "drain_timeout must be a whole number of seconds between 1 and 900, e.g. 300."
  }
}

variable "initial_copy_state_machine" {
  description = <<-EOT
    The optional initial-copy state machine (a Distributed Map over the master's parallel-scan segments, one copySegment loop per segment).
    enabled: create it, the copy function and their roles. total_segments: parallel-scan segments, 1 to 1000 (States.ArrayRange builds the list).
    max_concurrency: segments copied at once, 1 to 10000. items_per_second, capacity_share: passed to every copySegment call as itemsPerSecond and capacityShare (null leaves them out).
  EOT
  type = object({
    enabled          = optional(bool, false)
    total_segments   = optional(number, 64)
    max_concurrency  = optional(number, 16)
    items_per_second = optional(number)
    capacity_share   = optional(number)
  })
  default = {}

  validation {
    condition     = var.initial_copy_state_machine.total_segments >= 1 && var.initial_copy_state_machine.total_segments <= 1000 && floor(var.initial_copy_state_machine.total_segments) == var.initial_copy_state_machine.total_segments
    error_message = "initial_copy_state_machine.total_segments must be a whole number between 1 and 1000 (States.ArrayRange builds at most 1000 segment numbers), e.g. 64."
  }

  validation {
    condition     = var.initial_copy_state_machine.max_concurrency >= 1 && var.initial_copy_state_machine.max_concurrency <= 10000 && floor(var.initial_copy_state_machine.max_concurrency) == var.initial_copy_state_machine.max_concurrency
    error_message = "initial_copy_state_machine.max_concurrency must be a whole number between 1 and 10000 (a Distributed Map runs at most 10000 child executions at once), e.g. 16."
  }

  validation {
    condition     = var.initial_copy_state_machine.items_per_second == null || try(var.initial_copy_state_machine.items_per_second > 0, false)
    error_message = "initial_copy_state_machine.items_per_second must be a positive number of items per second, e.g. 500, or be left null for no limit."
  }

  validation {
    condition     = var.initial_copy_state_machine.capacity_share == null || try(var.initial_copy_state_machine.capacity_share > 0 && var.initial_copy_state_machine.capacity_share <= 1, false)
    error_message = "initial_copy_state_machine.capacity_share is a fraction of the table's read capacity from 0 to 1 (e.g. 0.25), or null for no limit."
  }
}

variable "copy_timeout" {
  description = "Timeout of one copySegment call in seconds; a segment that runs out of time checkpoints and the state machine calls it again."
  type        = number
  default     = 900

  validation {
    condition     = var.copy_timeout >= 1 && var.copy_timeout <= 900 && floor(var.copy_timeout) == var.copy_timeout
    error_message = "copy_timeout must be a whole number of seconds between 1 and 900, e.g. 900."
  }
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms: stream backlog (IteratorAge), polling stalled (master writes, nothing polled), function errors, throttles and duration near the timeout, per slave failed records and age of the oldest parked change, rejected records, configuration errors, batches given up on (written to the failure bucket) and batches the failure bucket could not take."
  type        = bool
  default     = true
}

variable "iterator_age_alarm_threshold_seconds" {
  description = "Replication backlog (age of the last record read) that raises the IteratorAge alarm."
  type        = number
  default     = 300

  validation {
    condition     = var.iterator_age_alarm_threshold_seconds > 0
    error_message = "iterator_age_alarm_threshold_seconds must be a positive number of seconds, e.g. 300."
  }
}

variable "parked_age_alarm_threshold_seconds" {
  description = "Age of a slave's oldest parked change (OldestParkedAgeSeconds, reported by the drain) that raises that slave's parked-age alarm."
  type        = number
  default     = 900

  validation {
    condition     = var.parked_age_alarm_threshold_seconds > 0
    error_message = "parked_age_alarm_threshold_seconds must be a positive number of seconds, e.g. 900."
  }
}

variable "alarm_topic_arn" {
  description = "Deprecated: list the topic in alarm_actions and ok_actions instead. ARN of an existing SNS topic the alarms notify on ALARM and on OK, added to alarm_actions and ok_actions. Cannot be set with create_alarm_topic."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\\.fifo)?$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN, e.g. \"arn:aws:sns:eu-west-1:111122223333:ops\"."
  }
}

variable "create_alarm_topic" {
  description = "Create an SNS topic (output alarm_topic_arn) that every alarm notifies on ALARM and on OK, besides alarm_actions and ok_actions. Cannot be set with alarm_topic_arn."
  type        = bool
  default     = false
}

variable "alarm_topic_kms_key_id" {
  description = "KMS key for the created alarm topic. It must allow cloudwatch.amazonaws.com to use it; the AWS managed alias/aws/sns does not, so null leaves the topic unencrypted."
  type        = string
  default     = null
}

variable "slave_point_in_time_recovery" {
  description = "Enable point-in-time recovery on the slave tables this module creates."
  type        = bool
  default     = true
}

variable "slave_deletion_protection" {
  description = "Enable deletion protection on the slave tables this module creates, so that removing a slave from slaves, or renaming its key, cannot delete its table. Set false (and apply) before removing one on purpose; enabled = false pauses a slave instead."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}

variable "alarm_actions" {
  description = "ARNs the alarms notify when they enter ALARM (SNS topics, Lambda functions, Systems Manager incident plans...), as terraform-aws-modules takes them. The created topic (create_alarm_topic) or alarm_topic_arn is added."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", a))])
    error_message = "Each of alarm_actions must be an ARN, e.g. \"arn:aws:sns:eu-west-1:111122223333:ops\"."
  }
}

variable "ok_actions" {
  description = "ARNs the alarms notify when they return to OK. The created topic (create_alarm_topic) or alarm_topic_arn is added."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ok_actions : can(regex("^arn:aws[a-z-]*:[a-z0-9-]+:", a))])
    error_message = "Each of ok_actions must be an ARN, e.g. \"arn:aws:sns:eu-west-1:111122223333:ops\"."
  }
}

variable "duration_alarm_threshold_percent" {
  description = "Share of timeout, in percent, that the longest invocation of the stream function in 5 minutes must exceed to raise the duration-near-timeout alarm."
  type        = number
  default     = 80

  validation {
    condition     = var.duration_alarm_threshold_percent > 0 && var.duration_alarm_threshold_percent < 100
    error_message = "duration_alarm_threshold_percent must be a percentage of timeout above 0 and below 100, e.g. 80."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard, <name>-<region>: per slave lag, records/s, retries, failed, parked and drained records, parked changes pending and their age; IteratorAge, master writes against records polled, errors and throttles."
  type        = bool
  default     = true
}

variable "slave_autoscaling" {
  description = <<-EOT
    Auto scaling of the read and write capacity of created slave tables whose master is PROVISIONED (on-demand slaves need none). Their global secondary indexes keep the master's indexes' capacity, unscaled (see docs/module.md).
    enabled: register the scalable targets and target-tracking policies. The minimum is the master's capacity (a slave takes every write of the master). Either way, Terraform sets a slave's capacity only at creation.
    max_read_capacity, max_write_capacity: the maximum; null means 4 times the minimum. target_utilization: percent of consumed to provisioned capacity the policy keeps, 20 to 90.
  EOT
  type = object({
    enabled            = optional(bool, true)
    max_read_capacity  = optional(number)
    max_write_capacity = optional(number)
    target_utilization = optional(number, 70)
  })
  default = {}

  validation {
    condition     = var.slave_autoscaling.target_utilization >= 20 && var.slave_autoscaling.target_utilization <= 90
    error_message = "slave_autoscaling.target_utilization must be a percentage between 20 and 90, e.g. 70."
  }

  validation {
    condition = alltrue([
      for m in [var.slave_autoscaling.max_read_capacity, var.slave_autoscaling.max_write_capacity] :
      m == null || try(m >= 1 && floor(m) == m, false)
    ])
    error_message = "slave_autoscaling.max_read_capacity and max_write_capacity must be whole numbers of capacity units, at least 1, or null for 4 times the master's capacity."
  }
}

variable "slave_warm_throughput" {
  description = "Warm throughput of created on-demand slave tables (read_units_per_second, write_units_per_second), so that the replay after an outage or an initial copy is not throttled while the table scales. Null gives each slave the master's warm throughput."
  type = object({
    read_units_per_second  = number
    write_units_per_second = number
  })
  default = null

  validation {
    condition     = var.slave_warm_throughput == null || try(var.slave_warm_throughput.read_units_per_second >= 12000 && var.slave_warm_throughput.write_units_per_second >= 4000, false)
    error_message = "slave_warm_throughput must be at least read_units_per_second = 12000 and write_units_per_second = 4000 (what DynamoDB gives a new on-demand table), or null for the master's warm throughput."
  }
}

variable "slave_on_demand_throughput" {
  description = "Maximum request units per second of created on-demand slave tables (max_read_request_units, max_write_request_units; -1 for no maximum), a cap on the cost of a replay burst. Writes above it are throttled, and the slave's changes are parked and drained. Null sets no maximum."
  type = object({
    max_read_request_units  = optional(number, -1)
    max_write_request_units = optional(number, -1)
  })
  default = null

  validation {
    condition = var.slave_on_demand_throughput == null || alltrue([
      for m in [try(var.slave_on_demand_throughput.max_read_request_units, -1), try(var.slave_on_demand_throughput.max_write_request_units, -1)] :
      m == -1 || (m >= 1 && floor(m) == m)
    ])
    error_message = "slave_on_demand_throughput.max_read_request_units and max_write_request_units must be -1 (no maximum) or whole numbers of request units per second, at least 1."
  }
}
