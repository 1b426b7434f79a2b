variable "name" {
  description = "Name of the replicator: the function, its role and log group, the failure queue and the alarms are all named from it. Unique per account and region."
  type        = string
  default     = "dynamo-replicator"

  validation {
    # The failure queue adds "-failures" and SQS names stop at 80 characters;
    # IAM role names stop at 64.
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.name))
    error_message = "name must be 1 to 56 letters, digits, hyphens or underscores, e.g. \"orders-replicator\"."
  }
}

variable "region" {
  description = "Region of the master table, where the function, mapping, queue and alarms are created. Null means the provider's region."
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
    kms_key_arn: a KMS key of the slave's region to encrypt the created table with (only with create_table; null uses the key DynamoDB owns).
  EOT
  type = map(object({
    region       = string
    table_name   = string
    role_arn     = optional(string)
    external_id  = optional(string)
    endpoint     = optional(string)
    create_table = optional(bool, false)
    kms_key_arn  = optional(string)
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
    condition     = alltrue([for s in values(var.slaves) : s.kms_key_arn == null || s.create_table])
    error_message = "kms_key_arn only applies to a table the module creates: set create_table = true on that slave, or remove kms_key_arn."
  }

  validation {
    condition     = alltrue([for s in values(var.slaves) : s.endpoint == null || can(regex("^https?://[^\\s]+$", s.endpoint))])
    error_message = "Each slave's endpoint must be an http(s) URL such as \"http://127.0.0.1:8000\", or be left out to use the AWS endpoint."
  }
}

variable "enabled" {
  description = "Whether the event source mapping reads the stream. Set false for the first apply when the master already holds items, copy them, then set true within 24 hours (see docs/module.md)."
  type        = bool
  default     = true
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
  description = "Timeout of one invocation in seconds. It bounds the time the function spends backing off on throttled slave writes before it reports the batch's unapplied records."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900, e.g. 120."
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
  description = "Concurrent BatchWriteItem calls per slave within one invocation."
  type        = number
  default     = 8

  validation {
    condition     = var.write_concurrency >= 1 && var.write_concurrency <= 64 && floor(var.write_concurrency) == var.write_concurrency
    error_message = "write_concurrency must be a whole number between 1 and 64, e.g. 8."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the metrics the function writes (ReplicationLatency, RecordsReplicated, WriteRetries, FailedRecords; dimension Slave)."
  type        = string
  default     = "DynamoReplicator"

  validation {
    condition     = can(regex("^[A-Za-z0-9_.#:/-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1 to 255 letters, digits or _.#:/- and must not start with \"AWS/\", e.g. \"DynamoReplicator\"."
  }
}

variable "batch_size" {
  description = "Largest number of stream records in one invocation."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000, e.g. 100."
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
  description = "Retries of a failing batch before its position is sent to the failure queue; -1 retries until the record leaves the stream."
  type        = number
  default     = 20

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000 && floor(var.maximum_retry_attempts) == var.maximum_retry_attempts
    error_message = "maximum_retry_attempts must be -1 (until the record expires) or a whole number between 0 and 10000, e.g. 20."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Records older than this are not retried but sent to the failure queue; -1 keeps them until they leave the stream (24 hours)."
  type        = number
  default     = 43200

  validation {
    condition     = var.maximum_record_age_in_seconds == -1 || (var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds <= 604800 && floor(var.maximum_record_age_in_seconds) == var.maximum_record_age_in_seconds)
    error_message = "maximum_record_age_in_seconds must be -1 or a whole number between 60 and 604800, e.g. 43200 (12 hours, leaving 12 hours to re-read a failed record from the stream)."
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

variable "failure_queue_message_retention_seconds" {
  description = "How long the failure queue keeps the position of records that could not be replicated."
  type        = number
  default     = 1209600

  validation {
    condition     = var.failure_queue_message_retention_seconds >= 60 && var.failure_queue_message_retention_seconds <= 1209600
    error_message = "failure_queue_message_retention_seconds must be between 60 and 1209600 (14 days)."
  }
}

variable "failure_queue_kms_key_id" {
  description = "KMS key (ID, ARN or alias) to encrypt the failure queue with. Null uses SQS-managed encryption (SSE-SQS)."
  type        = string
  default     = null
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms: stream backlog (IteratorAge), function errors, failed records per slave, messages in the failure queue."
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

variable "alarm_topic_arn" {
  description = "ARN of an existing SNS topic the alarms notify. Ignored when create_alarm_topic is true."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+(\\.fifo)?$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN, e.g. \"arn:aws:sns:eu-west-1:111122223333:ops\"."
  }
}

variable "create_alarm_topic" {
  description = "Create an SNS topic for the alarms to notify (output alarm_topic_arn) instead of using alarm_topic_arn."
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
  description = "Enable deletion protection on the slave tables this module creates."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource the module creates."
  type        = map(string)
  default     = {}
}
