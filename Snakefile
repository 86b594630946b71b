# The esr1calls workflow from the repository's root, with no arguments needed:
#
#   snakemake --lint
#   snakemake -n                                   # the demo config (workflows/test/config.yaml)
#   snakemake --cores 2 --configfile my_config.yaml
#
# The workflow itself is workflows/Snakefile (docs/batch.md, "The Snakemake workflow").


include: "workflows/Snakefile"


rule default:
    """From the root, what workflows/Snakefile's rule all builds (an included file's default
    target is not the including file's)."""
    input:
        rules.all.input,
    default_target: True
