variable "region" {
  description = "Region of the table. Null means the provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.region == null || can(regex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$", var.region))
    error_message = "region must look like an AWS region, e.g. \"eu-west-1\"."
  }
}

variable "name" {
  description = "Name of the table."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be a DynamoDB table name (3 to 255 letters, digits, '_', '-' or '.'), e.g. \"orders-copy\"."
  }
}

variable "hash_key" {
  description = "Partition key attribute: the master's."
  type        = string
}

variable "range_key" {
  description = "Sort key attribute: the master's, or null/empty when it has none."
  type        = string
  default     = null
}

variable "attributes" {
  description = "Attribute definitions; only those the keys of the table and of its indexes use are kept, so the master's full list can be passed as it is."
  type = set(object({
    name = string
    type = string
  }))

  validation {
    condition     = alltrue([for a in var.attributes : contains(["S", "N", "B"], a.type)])
    error_message = "Each attribute's type must be \"S\", \"N\" or \"B\"."
  }
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST or PROVISIONED: the master's."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be \"PAY_PER_REQUEST\" or \"PROVISIONED\"."
  }
}

variable "read_capacity" {
  description = "Read capacity units, used only with PROVISIONED: the capacity at creation and the scaler's minimum. Later changes are not applied to the table (its capacity is the scaler's), only to that minimum."
  type        = number
  default     = 0
}

variable "write_capacity" {
  description = "Write capacity units, used only with PROVISIONED: the capacity at creation and the scaler's minimum, as read_capacity. A slave receives every write of the master: give it at least the master's."
  type        = number
  default     = 0

  validation {
    condition     = var.write_capacity >= 0
    error_message = "write_capacity must be >= 0."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Enable point-in-time recovery."
  type        = bool
  default     = true
}

variable "deletion_protection_enabled" {
  description = "Enable deletion protection: on by default, as terraform-aws-dynamodb-table does, so that a replica is not destroyed by a rename or a removed slave. Set false before destroying it on purpose."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "ARN of a KMS key of the table's region to encrypt it with. Null uses the key DynamoDB owns."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}

variable "global_secondary_indexes" {
  description = "Global secondary indexes: the master's, so that the slave serves the same queries. read_capacity and write_capacity are used only with PROVISIONED, and are not scaled."
  type = list(object({
    name               = string
    hash_key           = string
    range_key          = optional(string)
    projection_type    = string
    non_key_attributes = optional(list(string), [])
    read_capacity      = optional(number)
    write_capacity     = optional(number)
  }))
  default = []

  validation {
    condition     = alltrue([for gsi in var.global_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], gsi.projection_type)])
    error_message = "Each global secondary index's projection_type must be \"ALL\", \"KEYS_ONLY\" or \"INCLUDE\"."
  }
}

variable "local_secondary_indexes" {
  description = "Local secondary indexes: the master's. They exist only from the table's creation: adding or removing one replaces the table."
  type = list(object({
    name               = string
    range_key          = string
    projection_type    = string
    non_key_attributes = optional(list(string), [])
  }))
  default = []

  validation {
    condition     = alltrue([for lsi in var.local_secondary_indexes : contains(["ALL", "KEYS_ONLY", "INCLUDE"], lsi.projection_type)])
    error_message = "Each local secondary index's projection_type must be \"ALL\", \"KEYS_ONLY\" or \"INCLUDE\"."
  }
}

variable "ttl_attribute_name" {
  description = "Attribute whose epoch-seconds value expires an item (DynamoDB TTL): the master's. Null leaves TTL off."
  type        = string
  default     = null
}

variable "table_class" {
  description = "STANDARD or STANDARD_INFREQUENT_ACCESS: the master's."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "STANDARD_INFREQUENT_ACCESS"], var.table_class)
    error_message = "table_class must be \"STANDARD\" or \"STANDARD_INFREQUENT_ACCESS\"."
  }
}

variable "autoscaling" {
  description = <<-EOT
    Auto scaling of a PROVISIONED table's read and write capacity (ignored on demand), by target tracking. The minimum is read_capacity and write_capacity.
    enabled: register the scalable targets and policies; the table's capacity is never changed by Terraform after creation either way.
    max_read_capacity, max_write_capacity: the maximum, null for 4 times the minimum. target_utilization: percent of consumed to provisioned capacity to keep, 20 to 90.
  EOT
  type = object({
    enabled            = optional(bool, true)
    max_read_capacity  = optional(number)
    max_write_capacity = optional(number)
    target_utilization = optional(number, 70)
  })
  default = {}

  validation {
    condition     = var.autoscaling.target_utilization >= 20 && var.autoscaling.target_utilization <= 90
    error_message = "autoscaling.target_utilization must be a percentage between 20 and 90, e.g. 70."
  }
}

variable "warm_throughput" {
  description = "Warm throughput of an on-demand table (ignored with PROVISIONED): the reads and writes per second it takes from creation on, without throttling while it scales. Null leaves DynamoDB's default for a new table."
  type = object({
    read_units_per_second  = number
    write_units_per_second = number
  })
  default = null
}

variable "on_demand_throughput" {
  description = "Maximum read and write request units per second of an on-demand table (ignored with PROVISIONED), -1 for no maximum. Null sets none."
  type = object({
    max_read_request_units  = optional(number, -1)
    max_write_request_units = optional(number, -1)
  })
  default = null
}
