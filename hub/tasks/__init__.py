"""Tasks: specs, pipelines, text edits with offset maps, results and decoding, datasets, metrics."""
