# Shortcuts; each target works without make too (see README).
.PHONY: up test lint typecheck openapi ci

up:
	python3 dev.py up

test:
	python3 dev.py test

lint:
	python3 dev.py run ruff check .
	python3 dev.py run ruff format --check .

typecheck:
	python3 dev.py run mypy

openapi:
	python3 dev.py run marketplace openapi

ci:
	bash .ci/run
