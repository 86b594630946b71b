rule esr1calls_cohort:
    """Merge every job's calls.json into one cohort report (tables, calls.json, report.html)."""
    input:
        expand(f"{OUTDIR}/pcr/{{job}}/calls.json", job=JOBS["pcr"]),
        expand(f"{OUTDIR}/ngs/{{job}}/calls.json", job=JOBS["ngs"]),
    output:
        samples=f"{OUTDIR}/cohort/samples.tsv",
        calls=f"{OUTDIR}/cohort/calls.tsv",
    log:
        "logs/esr1calls/cohort.log",
    params:
        outdir=lambda wildcards, output: str(Path(output.samples).parent),
        reproducible="--reproducible" if config.get("reproducible", True) else "",
        command=config.get("esr1calls", "esr1calls"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/esr1calls.yaml"
    shell:
        "{params.command} report {input:q} {params.reproducible} -o {params.outdir:q} 2> {log}"
