output "function_name" {
  description = "Name of the replicator function."
  value       = module.replicator.function_name
}

output "event_source_mapping_uuid" {
  description = "UUID of the mapping from the master's stream."
  value       = module.replicator.event_source_mapping_uuid
}

output "slave_tables" {
  description = "The replica in each region."
  value       = module.replicator.slave_tables
}

output "alarm_topic_arn" {
  description = "Topic the alarms notify: subscribe the on-call to it."
  value       = module.replicator.alarm_topic_arn
}

output "initial_copy_state_machine_arn" {
  description = "State machine that copies the master's items to a slave that joins with initial_copy = true."
  value       = module.replicator.initial_copy_state_machine_arn
}
