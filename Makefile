# Two commands set everything up on a fresh machine:
#   make demo   create .venv, install esr1calls, run it on the bundled example data
#   make test   the whole suite (pytest + ruff + mypy); this is what .ci/run calls
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := demo-output
# MultiQC, the real consumer of --multiqc output, run by the tests: about 1 GB with its plotting
# stack, so in a virtualenv of its own (its pins never meet esr1calls'); installed once (stamp)
MULTIQC_VENV    := $(VENV)/multiqc
MULTIQC_VERSION := 1.35

.PHONY: demo test lint typecheck system-deps multiqc bench mutation mutation-sample clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.runtime

$(MULTIQC_VENV)/.installed-$(MULTIQC_VERSION): | $(BIN)/python
	rm -rf $(MULTIQC_VENV)
	$(PYTHON) -m venv $(MULTIQC_VENV)
	$(MULTIQC_VENV)/bin/python -m pip install --quiet multiqc==$(MULTIQC_VERSION)
	touch $@

multiqc: $(MULTIQC_VENV)/.installed-$(MULTIQC_VERSION)

system-deps:
	@scripts/install-system-deps.sh

demo: $(VENV)/.runtime
	@rm -rf $(DEMO)
	$(BIN)/esr1calls hotspots --build GRCh38 --format vcf -o $(DEMO)/esr1_hotspots.GRCh38.vcf
	$(BIN)/esr1calls hotspots --build GRCh37 --format bed -o $(DEMO)/esr1_hotspots.GRCh37.bed
	$(BIN)/esr1calls pcr testdata/plates/quantstudio/esr1_demo_quantstudio.txt \
		--plate-map testdata/plates/esr1_demo_platemap.csv -o $(DEMO)/pcr
	$(BIN)/esr1calls ngs testdata/vcf/mutect2/esr1_tumour_normal.vcf -o $(DEMO)/ngs
	@echo "Demo reports written to $(DEMO)/pcr/ and $(DEMO)/ngs/: open report.html in each;"
	@echo "tables in samples.tsv and calls.tsv, everything with provenance in calls.json"

lint: $(VENV)/.test
	$(BIN)/ruff check esr1calls tests benchmarks
	$(BIN)/ruff format --check esr1calls tests benchmarks

typecheck: $(VENV)/.test
	$(BIN)/mypy

# ESR1CALLS_REQUIRE_CHROMIUM: the report.html browser test fails (never skips) without chromium;
# ESR1CALLS_REQUIRE_MULTIQC: so do the tests that run MultiQC on --multiqc output
test: $(VENV)/.test system-deps multiqc lint typecheck
	ESR1CALLS_REQUIRE_CHROMIUM=1 ESR1CALLS_REQUIRE_SLURM=1 ESR1CALLS_REQUIRE_MULTIQC=1 \
		$(BIN)/python -m pytest

# timings, never asserted (see each script): issue 18's table (a 1M-record VCF, a 20,000x BAM and
# a batch, each beside its peer; docs/performance.md), VCF reading vs bcftools on generated
# Mutect2 VCFs, read counting vs samtools/bcftools mpileup on a generated 20,000x BAM, a day's work
# through `esr1calls batch --jobs 2` with the price of one CLI start, and the start-up of --help
# and of one small ngs or pcr job beside the interpreter, bcftools and `import pandas`
bench: $(VENV)/.test system-deps
	$(BIN)/python benchmarks/bench_table.py
	$(BIN)/python benchmarks/bench_vcf.py
	$(BIN)/python benchmarks/bench_reads.py
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_dpcr.py
	$(BIN)/python benchmarks/bench_startup.py

# mutation testing of the rule modules (scripts/mutation_scope.toml; docs/development.md), outside
# CI: each mutant runs its module's tests; MUTATION_JOBS=N runs N at once (default 1). The report
# is written to test-artifacts/mutation/ (report.txt, report.json)
mutation: $(VENV)/.test
	$(BIN)/python scripts/mutate.py

mutation-sample: $(VENV)/.test
	$(BIN)/python scripts/mutate.py --sample 120

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .hypothesis bench-output test-artifacts
