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

  # The master's key, as DescribeTable reports it (none for the key DynamoDB
  # owns); the state table's and the slaves' are inputs (iam.tf grants them).
  master_kms_key_arn = try(one([
    for sse in data.aws_dynamodb_table.master.server_side_encryption : sse.kms_key_arn
    if sse.enabled && sse.kms_key_arn != null && sse.kms_key_arn != ""
  ]), null)

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
  # The copy function's too, for output policy_documents.
  log_group_arns = {
    for role, fn in merge(local.function_names, { copy = "${var.name}-copy" }) :
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
  # A role's ARN holds its path: arn:<partition>:iam::<account>:role<path><name>.
  role_path = coalesce(var.role_path, "/")
  role_arns = { for role, n in local.role_names : role => "arn:${local.partition}:iam::${local.account_id}:role${local.role_path}${n}" }

  # The role each function runs with: the module's own, or with
  # create_role = false the caller's lambda_role for all three. Built from
  # names either way, so known at plan time.
  function_role_arns = {
    for role in ["stream", "drain", "copy"] :
    role => var.create_role ? local.role_arns[role] : var.lambda_role
  }

  # The roles that write the slaves, hence the principals a cross-account
  # slave's writer role must trust.
  slave_writer_roles = local.copy_enabled ? ["stream", "drain", "copy"] : ["stream", "drain"]
  slave_writer_principal_arns = var.create_role ? [
    for role in local.slave_writer_roles : local.role_arns[role]
  ] : [var.lambda_role]

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
  # enabled = false keeps a slave in the list: its changes are parked in the
  # state table, never written, and the drain leaves them there until the
  # slave is enabled again (see docs/module.md).
  slaves_environment = {
    for key, slave in var.slaves : key => {
      region       = slave.region
      table_name   = slave.table_name
      role_arn     = slave.role_arn
      external_id  = slave.external_id
      endpoint     = slave.endpoint
      initial_copy = slave.initial_copy
      enabled      = slave.enabled
    }
  }
  function_environment = {
    REPLICATOR_SLAVES            = jsonencode(local.slaves_environment)
    REPLICATOR_STATE_TABLE       = local.state_table_name
    REPLICATOR_MASTER_TABLE      = var.master_table_name
    REPLICATOR_NAME              = var.name
    REPLICATOR_SLAVE_BUDGET_MS   = tostring(var.slave_write_budget_seconds * 1000)
    REPLICATOR_SKIP_TTL_DELETES  = tostring(var.skip_ttl_deletes)
    REPLICATOR_WRITE_CONCURRENCY = tostring(var.write_concurrency)
    REPLICATOR_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }

  # Lambda measures the environment as the JSON of its variables, 4 KB at
  # most (4096 bytes). Every slave adds its entry of REPLICATOR_SLAVES, JSON
  # inside JSON.
  environment_limit_bytes = 4096
  environment_bytes       = length(jsonencode(local.function_environment))
  environment_fixed_bytes = length(jsonencode(merge(local.function_environment, { REPLICATOR_SLAVES = "{}" })))
  environment_slave_bytes = {
    for key, slave in local.slaves_environment :
    key => length(jsonencode(jsonencode({ (key) = slave }))) - length(jsonencode("{}")) + 1
  }
  environment_largest_slave_bytes = max(1, values(local.environment_slave_bytes)...)
  environment_slaves_that_fit     = floor((local.environment_limit_bytes - local.environment_fixed_bytes) / local.environment_largest_slave_bytes)

  # The deployment package. By default archive_file zips the bundle at plan
  # time, and the hash is the bundle's own (archive 1.3.0 keeps each file's
  # mode bits, so the zip's bytes follow the umask). With create_package =
  # false the functions deploy an existing zip: by default the one `npm run
  # build` commits beside the bundle (no timestamps, fixed modes, stored), so
  # that a plan saved on one machine applies on another.
  bundle_path         = "${path.module}/dist/lambda/index.mjs"
  lambda_package      = var.create_package ? data.archive_file.lambda[0].output_path : coalesce(var.local_existing_package, "${path.module}/dist/lambda/function.zip")
  lambda_package_hash = var.create_package ? filebase64sha256(local.bundle_path) : filebase64sha256(local.lambda_package)

  # The alias the mapping invokes: it names the version the last apply
  # published, so a bad deploy is rolled back by pointing it at the previous one.
  function_alias_name = "live"
}
