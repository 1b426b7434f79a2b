output "function_name" {
  description = "Name of the replicator function."
  value       = module.replicator.function_name
}

output "role_arn" {
  description = "ARN of the replicator's role in the master's account."
  value       = module.replicator.role_arn
}

output "slave_writer_role_arn" {
  description = "ARN of the role in the slave's account that the replicator assumes."
  value       = module.slave_writer.role_arn
}

output "slave_table_arn" {
  description = "ARN of the slave table in the slave's account."
  value       = module.slave_table.arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the master's stream."
  value       = module.replicator.event_source_mapping_uuid
}
