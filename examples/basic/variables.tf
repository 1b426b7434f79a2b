variable "region" {
  description = "Region of the master table and of its copy."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the replicator."
  type        = string
  default     = "orders-replicator"
}

variable "master_table_name" {
  description = "Existing table, with its stream enabled, to copy."
  type        = string
  default     = "orders"
}
