variable "name" {
  description = "Name of the role, created in the slave's account."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be an IAM role name: 1 to 64 letters, digits or +=,.@_-, e.g. \"orders-replicator-writer\"."
  }
}

variable "replicator_role_arns" {
  description = "ARNs of the replicator's roles that may assume this role: output slave_writer_principal_arns of the root module (the stream function's, the drain's and, with the initial-copy state machine, the copy function's). They need not exist yet."
  type        = list(string)

  validation {
    condition     = length(var.replicator_role_arns) > 0 && alltrue([for arn in var.replicator_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", arn))])
    error_message = "replicator_role_arns must list at least one IAM role ARN, e.g. [\"arn:aws:iam::111122223333:role/orders-replicator-us-east-1\", \"arn:aws:iam::111122223333:role/orders-replicator-drain-us-east-1\"]."
  }
}

variable "external_id" {
  description = "External ID the replicator must present (the slave's external_id in the root module). Null demands none."
  type        = string
  default     = null

  validation {
    # RE2 caps a repetition at 1000, hence the length test apart.
    condition     = var.external_id == null || (can(regex("^[A-Za-z0-9+=,.@:/_-]+$", var.external_id)) && try(length(var.external_id) >= 2 && length(var.external_id) <= 1224, false))
    error_message = "external_id must be 2 to 1224 characters among letters, digits and +=,.@:/_-."
  }
}

variable "slave_table_arns" {
  description = "ARNs of the tables in this account the replicator may write."
  type        = list(string)

  validation {
    condition     = length(var.slave_table_arns) > 0 && alltrue([for arn in var.slave_table_arns : can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", arn))])
    error_message = "slave_table_arns must list at least one DynamoDB table ARN, e.g. [\"arn:aws:dynamodb:eu-west-1:444455556666:table/orders\"]."
  }
}

variable "kms_key_arns" {
  description = "ARNs of the customer managed KMS keys the listed tables are encrypted with: the role may use each through DynamoDB in the key's own region only (kms:Decrypt, kms:DescribeKey, kms:GenerateDataKey, conditioned on kms:ViaService). Empty for tables with the key DynamoDB owns or the AWS managed key. Each key's policy must also allow this account's principals."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", arn))])
    error_message = "kms_key_arns must list KMS key ARNs, e.g. [\"arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab\"] (not aliases or key IDs)."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
