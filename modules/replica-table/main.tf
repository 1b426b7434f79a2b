locals {
  range_key   = var.range_key == "" ? null : var.range_key
  provisioned = var.billing_mode == "PROVISIONED"

  # Every attribute a key of the table or of an index uses: DynamoDB rejects
  # definitions of any other.
  key_names = compact(concat(
    [var.hash_key, local.range_key],
    flatten([for gsi in var.global_secondary_indexes : [gsi.hash_key, gsi.range_key == null ? "" : gsi.range_key]]),
    [for lsi in var.local_secondary_indexes : lsi.range_key],
  ))

  # Warm throughput is the on-demand table's head start; a provisioned table's
  # is its capacity.
  warm_throughput = local.provisioned ? null : var.warm_throughput

  # The table's read and write capacity, scaled between the given capacity
  # (the master's) and the maximum. A global secondary index keeps the
  # capacity it is given: its capacity is set inside the table's
  # global_secondary_index blocks, and Terraform cannot ignore one attribute
  # of a block of a set, so every apply would undo the scaler's changes.
  scaling = local.provisioned && var.autoscaling.enabled ? {
    read = {
      dimension = "dynamodb:table:ReadCapacityUnits"
      metric    = "DynamoDBReadCapacityUtilization"
      min       = var.read_capacity
      max       = coalesce(var.autoscaling.max_read_capacity, 4 * var.read_capacity)
    }
    write = {
      dimension = "dynamodb:table:WriteCapacityUnits"
      metric    = "DynamoDBWriteCapacityUtilization"
      min       = var.write_capacity
      max       = coalesce(var.autoscaling.max_write_capacity, 4 * var.write_capacity)
    }
  } : {}
}

resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:A customer managed key is the caller's choice (kms_key_arn); by default DynamoDB encrypts with the key it owns.
  # checkov:skip=CKV2_AWS_16:A provisioned table is scaled by aws_appautoscaling_target.this (autoscaling.enabled, on by default); an on-demand table needs none.
  region = var.region

  name         = var.name
  billing_mode = var.billing_mode
  hash_key     = var.hash_key
  range_key    = local.range_key
  table_class  = var.table_class

  read_capacity  = local.provisioned ? var.read_capacity : null
  write_capacity = local.provisioned ? var.write_capacity : null

  dynamic "attribute" {
    for_each = [for a in var.attributes : a if contains(local.key_names, a.name)]
    content {
      name = attribute.value.name
      type = attribute.value.type
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.global_secondary_indexes
    content {
      name               = global_secondary_index.value.name
      hash_key           = global_secondary_index.value.hash_key
      range_key          = global_secondary_index.value.range_key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null
      read_capacity      = local.provisioned ? global_secondary_index.value.read_capacity : null
      write_capacity     = local.provisioned ? global_secondary_index.value.write_capacity : null
    }
  }

  dynamic "local_secondary_index" {
    for_each = var.local_secondary_indexes
    content {
      name               = local_secondary_index.value.name
      range_key          = local_secondary_index.value.range_key
      projection_type    = local_secondary_index.value.projection_type
      non_key_attributes = local_secondary_index.value.projection_type == "INCLUDE" ? local_secondary_index.value.non_key_attributes : null
    }
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute_name == null ? [] : [var.ttl_attribute_name]
    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  dynamic "warm_throughput" {
    for_each = local.warm_throughput == null ? [] : [local.warm_throughput]
    content {
      read_units_per_second  = warm_throughput.value.read_units_per_second
      write_units_per_second = warm_throughput.value.write_units_per_second
    }
  }

  dynamic "on_demand_throughput" {
    for_each = local.provisioned || var.on_demand_throughput == null ? [] : [var.on_demand_throughput]
    content {
      max_read_request_units  = on_demand_throughput.value.max_read_request_units
      max_write_request_units = on_demand_throughput.value.max_write_request_units
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery_enabled
  }

  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = var.deletion_protection_enabled

  tags = var.tags

  lifecycle {
    # With auto scaling the scaler owns the table's capacity; read_capacity
    # and write_capacity set it at creation and, through the scalable
    # target's minimum, keep it at least there.
    ignore_changes = [read_capacity, write_capacity]
  }
}

resource "aws_appautoscaling_target" "this" {
  for_each = local.scaling

  region = var.region

  service_namespace  = "dynamodb"
  resource_id        = "table/${aws_dynamodb_table.this.name}"
  scalable_dimension = each.value.dimension
  min_capacity       = each.value.min
  max_capacity       = each.value.max
  tags               = var.tags

  lifecycle {
    precondition {
      condition     = each.value.max >= each.value.min
      error_message = "autoscaling.max_${each.key}_capacity (${each.value.max}) is below the table's ${each.key} capacity (${each.value.min}), the scaler's minimum: raise it to at least ${each.value.min}, or leave it null for ${4 * each.value.min}."
    }
  }
}

resource "aws_appautoscaling_policy" "this" {
  for_each = local.scaling

  region = var.region

  name               = "${each.value.metric}:${aws_appautoscaling_target.this[each.key].resource_id}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.this[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.this[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
    target_value = var.autoscaling.target_utilization
  }
}
