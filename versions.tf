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
    # 1.3.0 is the oldest release this module is tested with. It has no
    # `output_file_mode`, so the function's `source_code_hash` is taken from the
    # bundle itself rather than from the zip, whose metadata is not reproducible.
    archive = {
      source  = "hashicorp/archive"
      version = ">= 1.3.0"
    }
  }
}
