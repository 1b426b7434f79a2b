data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {
  region = var.region
}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # With these view types the stream record lacks the new image, so the
  # function reads the item back from the master with a consistent read.
  reads_master = contains(["KEYS_ONLY", "OLD_IMAGE"], data.aws_dynamodb_table.master.stream_view_type)

  # Built from names rather than from created tables so that the policies are
  # known at plan time and name the exact table even before it exists.
  slave_table_arns = {
    for key, slave in var.slaves :
    key => "arn:${local.partition}:dynamodb:${slave.region}:${local.account_id}:table/${slave.table_name}"
  }

  same_account_slaves = { for key, slave in var.slaves : key => slave if slave.role_arn == null }
  created_slaves      = { for key, slave in var.slaves : key => slave if slave.create_table }

  # A same-account slave at the master's own region and name is the master.
  slaves_equal_to_master = [
    for key, slave in local.same_account_slaves : key
    if slave.region == local.region && slave.table_name == var.master_table_name
  ]

  # Named rather than read from the resources, so that the function's policy
  # is known, and reviewable, at plan time.
  failure_queue_arn = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${var.name}-failures"
  log_group_arn     = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name}"

  bundle_path = "${path.module}/dist/lambda/index.mjs"
}
