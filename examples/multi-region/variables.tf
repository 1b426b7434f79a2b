variable "master_region" {
  description = "Region of the master table."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Name of the replicator."
  type        = string
  default     = "orders-replicator"
}

variable "master_table_name" {
  description = "Existing table, with its stream enabled, to replicate. Each region gets a table of the same name."
  type        = string
  default     = "orders"
}

variable "slave_regions" {
  description = "Regions that get a replica, keyed by a stable name."
  type        = map(string)
  default = {
    us = "us-east-1"
    ap = "ap-southeast-2"
    eu = "eu-central-1"
  }
}

variable "initial_copy_slaves" {
  description = "Keys of slave_regions that join with an initial copy of the master's items (see docs/module.md)."
  type        = set(string)
  default     = []
}
