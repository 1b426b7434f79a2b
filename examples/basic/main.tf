provider "aws" {
  region = var.region
}

# Keeps a copy of the master under another name in the same region, in a table
# the module creates with the master's keys and billing mode.
module "replicator" {
  source = "../.."

  name              = var.name
  master_table_name = var.master_table_name

  slaves = {
    copy = {
      region       = var.region
      table_name   = "${var.master_table_name}-copy"
      create_table = true
    }
  }
}
