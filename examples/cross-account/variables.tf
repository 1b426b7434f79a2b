variable "region" {
  description = "Region of the master table."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the replicator; its roles in the master's account are named from it: <name>-<region> (stream function) and <name>-drain-<region> (drain)."
  type        = string
  default     = "orders-replicator"
}

variable "master_table_name" {
  description = "Existing table, with its stream enabled, to replicate."
  type        = string
  default     = "orders"
}

variable "slave_account_deploy_role_arn" {
  description = "Role in the slave's account that Terraform assumes to create the slave table and the role the replicator assumes."
  type        = string
  default     = "arn:aws:iam::444455556666:role/terraform"
}

variable "slave_region" {
  description = "Region of the slave table."
  type        = string
  default     = "eu-west-1"
}

variable "slave_table_name" {
  description = "Name of the slave table, created in the slave's account."
  type        = string
  default     = "orders-from-partner"
}

variable "external_id" {
  description = "External ID the slave's account demands of the replicator."
  type        = string
  default     = "orders-replication"
}

variable "slave_kms_key_arn" {
  description = "Customer managed KMS key the slave's account encrypts its table with, in slave_region; the writer role may use it through DynamoDB. Null: the key DynamoDB owns."
  type        = string
  default     = null
}
