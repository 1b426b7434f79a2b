provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "slave_account"
  region = var.slave_region

  assume_role {
    role_arn = var.slave_account_deploy_role_arn
  }
}

data "aws_partition" "current" {}

data "aws_caller_identity" "master" {}

data "aws_caller_identity" "slave" {
  provider = aws.slave_account
}

data "aws_dynamodb_table" "master" {
  name = var.master_table_name
}

data "aws_region" "master" {}

locals {
  # The writer's trust names the replicator's roles and the replicator's
  # policies name the writer's role: both sides' ARNs are built from names, not
  # read from the other side's outputs, which would form a cycle. The
  # replicator's roles that write slaves are named <name>-<region> (the stream
  # function) and <name>-drain-<region> (the drain); the module's output
  # slave_writer_principal_arns holds the same ARNs.
  replicator_role_arns = [
    for role in [var.name, "${var.name}-drain"] :
    "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.master.account_id}:role/${role}-${data.aws_region.master.region}"
  ]
}

# In the slave's account: the table, with the master's keys...
module "slave_table" {
  source = "../../modules/replica-table"
  providers = {
    aws = aws.slave_account
  }

  name         = var.slave_table_name
  hash_key     = data.aws_dynamodb_table.master.hash_key
  range_key    = data.aws_dynamodb_table.master.range_key
  attributes   = data.aws_dynamodb_table.master.attribute
  billing_mode = "PAY_PER_REQUEST"
  kms_key_arn  = var.slave_kms_key_arn
}

# ...and the role that may write it, which only the replicator's roles may
# assume, presenting the external ID.
module "slave_writer" {
  source = "../../modules/slave-access-role"
  providers = {
    aws = aws.slave_account
  }

  name                 = "${var.name}-writer"
  replicator_role_arns = local.replicator_role_arns
  external_id          = var.external_id
  # From names, as the role ARNs above, so that the plan shows the policy.
  slave_table_arns = ["arn:${data.aws_partition.current.partition}:dynamodb:${var.slave_region}:${data.aws_caller_identity.slave.account_id}:table/${var.slave_table_name}"]
  kms_key_arns     = compact([var.slave_kms_key_arn])
}

# In the master's account: the replicator, writing the slave through that role.
module "replicator" {
  source = "../.."

  name              = var.name
  master_table_name = var.master_table_name

  slaves = {
    partner = {
      region      = var.slave_region
      table_name  = module.slave_table.name
      role_arn    = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.slave.account_id}:role/${module.slave_writer.role_name}"
      external_id = var.external_id
    }
  }
}
