"""The only place torch and peft are used: backbone, adapter packing, batched forward."""
