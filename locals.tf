data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {
  region = var.region
}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Built from names rather than from created tables so that the policies are
  # known at plan time and name the exact table even before it exists.
  slave_table_arns = {
    for key, slave in var.slaves :
    key => "arn:${local.partition}:dynamodb:${slave.region}:${local.account_id}:table/${slave.table_name}"
  }

  same_account_slaves = { for key, slave in var.slaves : key => slave if slave.role_arn == null }
  created_slaves      = { for key, slave in var.slaves : key => slave if slave.create_table }

  # A same-account slave at the master's own region and name is the master.
  # The rule of handler/config.ts (rejectMasterAsSlave): same account, region,
  # table name and endpoint.
  slaves_equal_to_master = [
    for key, slave in local.same_account_slaves : key
    if slave.region == local.region && slave.table_name == var.master_table_name && slave.endpoint == null
  ]

  copy_enabled = var.initial_copy_state_machine.enabled

  function_names = merge(
    { stream = var.name, drain = "${var.name}-drain" },
    local.copy_enabled ? { copy = "${var.name}-copy" } : {},
  )
  log_group_arns = {
    for role, fn in local.function_names :
    role => "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${fn}"
  }
  stream_function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}"

  # IAM is global and `name` is unique per region only, so each role name ends
  # with the region. A name longer than IAM's 64 characters keeps its first 55
  # and ends with 8 hex digits of the SHA-1 of the whole name: still one name
  # per module instance, and the same at every plan.
  role_full_names = {
    stream        = "${var.name}-${local.region}"
    drain         = "${var.name}-drain-${local.region}"
    copy          = "${var.name}-copy-${local.region}"
    state_machine = "${var.name}-sfn-${local.region}"
  }
  role_names = {
    for role, full in local.role_full_names :
    role => length(full) <= 64 ? full : "${substr(full, 0, 55)}-${substr(sha1(full), 0, 8)}"
  }
  role_arns = { for role, n in local.role_names : role => "arn:${local.partition}:iam::${local.account_id}:role/${n}" }

  # The roles that write the slaves, hence the principals a cross-account
  # slave's writer role must trust.
  slave_writer_roles = local.copy_enabled ? ["stream", "drain", "copy"] : ["stream", "drain"]

  state_table_name = "${var.name}-state"
  state_table_arn  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.state_table_name}"

  # S3 bucket names are global, lower case, at most 63 characters: the account
  # and region make the name unique, and a long `name` is shortened with a
  # hash as the role names are.
  failure_bucket_suffix = "-${local.account_id}-${local.region}"
  failure_bucket_base   = "${lower(replace(var.name, "_", "-"))}-failures"
  failure_bucket_name = (
    length("${local.failure_bucket_base}${local.failure_bucket_suffix}") <= 63
    ? "${local.failure_bucket_base}${local.failure_bucket_suffix}"
    : "${substr(local.failure_bucket_base, 0, 63 - length(local.failure_bucket_suffix) - 9)}-${substr(sha1(local.failure_bucket_base), 0, 8)}${local.failure_bucket_suffix}"
  )
  failure_bucket_arn = "arn:${local.partition}:s3:::${local.failure_bucket_name}"

  state_machine_name = "${var.name}-initial-copy"
  state_machine_arn  = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
  copy_function_arn  = "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}-copy"

  # The same environment for the three entry points of the one bundle.
  function_environment = {
    REPLICATOR_SLAVES = jsonencode({
      for key, slave in var.slaves : key => {
        region       = slave.region
        table_name   = slave.table_name
        role_arn     = slave.role_arn
        external_id  = slave.external_id
        endpoint     = slave.endpoint
        initial_copy = slave.initial_copy
      }
    })
    REPLICATOR_STATE_TABLE       = local.state_table_name
    REPLICATOR_MASTER_TABLE      = var.master_table_name
    REPLICATOR_NAME              = var.name
    REPLICATOR_SLAVE_BUDGET_MS   = tostring(var.slave_write_budget_seconds * 1000)
    REPLICATOR_SKIP_TTL_DELETES  = tostring(var.skip_ttl_deletes)
    REPLICATOR_WRITE_CONCURRENCY = tostring(var.write_concurrency)
    REPLICATOR_METRICS_NAMESPACE = var.metrics_namespace
  }

  bundle_path = "${path.module}/dist/lambda/index.mjs"
}
