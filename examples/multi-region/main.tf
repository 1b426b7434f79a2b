provider "aws" {
  region = var.master_region
}

# One module call, one function reading the master's stream once, and a replica
# created in each region through the provider's per-resource `region`: no
# provider alias per region.
module "replicator" {
  source = "../.."

  name              = var.name
  region            = var.master_region
  master_table_name = var.master_table_name

  slaves = {
    for key, region in var.slave_regions : key => {
      region       = region
      table_name   = var.master_table_name
      create_table = true
      initial_copy = contains(var.initial_copy_slaves, key)
    }
  }

  # A busier table: two batches per shard at once (order per key is kept) and
  # up to 200 records per invocation.
  batch_size             = 200
  parallelization_factor = 2
  write_concurrency      = 16
  memory_size            = 1024

  create_alarm_topic = true

  # A region added later joins with a copy of the master's items: list its key
  # in initial_copy_slaves, apply, then start this state machine with
  # --input '{"slave":"<key>"}'.
  initial_copy_state_machine = {
    enabled         = true
    total_segments  = 32
    max_concurrency = 8
  }

  tags = {
    Service = "orders"
  }
}
