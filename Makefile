# The two commands of the README. Both set everything up first (scripts/bootstrap.sh).
.PHONY: serve test bootstrap protos

serve: ## set up, then run the hub on its embedded defaults (127.0.0.1:50051)
	@scripts/bootstrap.sh
	.venv/bin/adapter-hub serve

test: ## set up, then lint, type-check and run the whole test suite
	@scripts/bootstrap.sh dev
	scripts/check.sh

protos: ## regenerate the generated code (clients/python/adapter_hub_client/api/v1) from protos/
	.venv/bin/python scripts/gen_protos.py
