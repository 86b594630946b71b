rule esr1calls_cohort:
    """Merge every job's calls.json into one cohort report (tables, calls.json, report.html,
    and the optional formats the config switches on)."""
    input:
        job_outputs(),
    output:
        samples=f"{OUTDIR}/cohort/samples.tsv",
        calls=f"{OUTDIR}/cohort/calls.tsv",
        # with outputs: multiqc, the cohort's MultiQC pair (each sample JOB:SAMPLE)
        multiqc=[f"{OUTDIR}/cohort/{name}" for name in PLAN["multiqc_files"] if MULTIQC],
    log:
        "logs/esr1calls/cohort.log",
    params:
        outdir=lambda wildcards, output: str(Path(output.samples).parent),
        flags=shlex.join(REPORT_FLAGS),
        command=ESR1CALLS,
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/esr1calls.yaml"
    shell:
        "{params.command:q} report {input:q} {params.flags} -o {params.outdir:q} 2> {log}"
        " || {{ cat {log} >&2; exit 1; }}"
