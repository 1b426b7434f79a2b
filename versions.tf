terraform {
  # 1.5.7 is the last MPL-licensed Terraform and the base OpenTofu forked from:
  # both read this floor against their own version.
  required_version = ">= 1.5.7"

  required_providers {
    # v6 is the first major with the per-resource `region` argument that lets one
    # module call create slave tables in many regions without provider aliases.
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0"
    }
  }
}
