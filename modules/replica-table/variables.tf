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
  description = "Attribute definitions; only those of hash_key and range_key are kept, so the master's full list can be passed as it is."
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
  description = "Read capacity units, used only with PROVISIONED."
  type        = number
  default     = 0
}

variable "write_capacity" {
  description = "Write capacity units, used only with PROVISIONED. A slave receives every write of the master: give it at least the master's."
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
  description = "Enable deletion protection."
  type        = bool
  default     = false
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
