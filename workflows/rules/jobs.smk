rule esr1calls_job:
    """One job of the sample sheet (a PCR plate, an NGS sample): the esr1calls command that
    `esr1calls batch --plan` gives for it. A failure's one-line error is shown, and kept in
    the log."""
    input:
        job_files,
    output:
        calls=f"{OUTDIR}/{{kind}}/{{job}}/calls.json",
        table=f"{OUTDIR}/{{kind}}/{{job}}/calls.tsv",
        samples=f"{OUTDIR}/{{kind}}/{{job}}/samples.tsv",
    log:
        "logs/esr1calls/{kind}/{job}.log",
    params:
        command=job_shell,
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../envs/esr1calls.yaml"
    shell:
        "{{ {params.command}; }} 2> {log} || {{ cat {log} >&2; exit 1; }}"
