"""The terminal chat (`seqmoe-local chat`): a Textual app over the pipeline.

Entry point: `seqmoe_local.tui.app.run(config, profile)`.
"""
