# The state the three entry points share: changes parked per slave, the
# content of stream records that can never be applied (kept for `redrive`),
# each slave's initial-copy status and the copy's per-segment checkpoints.
resource "aws_dynamodb_table" "state" {
  region = var.region

  name         = local.state_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.state_table_kms_key_arn
  }

  deletion_protection_enabled = var.state_table_deletion_protection

  tags = var.tags
}
