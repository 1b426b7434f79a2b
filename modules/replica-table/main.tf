locals {
  range_key   = var.range_key == "" ? null : var.range_key
  key_names   = compact([var.hash_key, local.range_key])
  provisioned = var.billing_mode == "PROVISIONED"
}

resource "aws_dynamodb_table" "this" {
  # checkov:skip=CKV_AWS_119:A customer managed key is the caller's choice (kms_key_arn); by default DynamoDB encrypts with the key it owns.
  # checkov:skip=CKV2_AWS_16:Auto scaling belongs to the caller's capacity plan; on-demand masters give on-demand slaves, which need none.
  region = var.region

  name         = var.name
  billing_mode = var.billing_mode
  hash_key     = var.hash_key
  range_key    = local.range_key

  read_capacity  = local.provisioned ? var.read_capacity : null
  write_capacity = local.provisioned ? var.write_capacity : null

  # DynamoDB rejects definitions of attributes that no key uses, and the
  # master's list also holds its index keys.
  dynamic "attribute" {
    for_each = [for a in var.attributes : a if contains(local.key_names, a.name)]
    content {
      name = attribute.value.name
      type = attribute.value.type
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
}
