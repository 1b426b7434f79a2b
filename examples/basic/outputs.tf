output "function_name" {
  description = "Name of the replicator function."
  value       = module.replicator.function_name
}

output "role_arn" {
  description = "ARN of the replicator's role."
  value       = module.replicator.role_arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the master's stream."
  value       = module.replicator.event_source_mapping_uuid
}

output "failure_queue_url" {
  description = "URL of the failure queue."
  value       = module.replicator.failure_queue_url
}

output "slave_tables" {
  description = "The slave tables."
  value       = module.replicator.slave_tables
}
