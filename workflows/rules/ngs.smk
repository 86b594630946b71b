rule esr1calls_ngs:
    """NGS: one sample (VCF and/or BAM/CRAM) per job."""
    input:
        data=job_inputs,
    output:
        calls=f"{OUTDIR}/ngs/{{job}}/calls.json",
        table=f"{OUTDIR}/ngs/{{job}}/calls.tsv",
        samples=f"{OUTDIR}/ngs/{{job}}/samples.tsv",
    log:
        "logs/esr1calls/ngs/{job}.log",
    params:
        outdir=lambda wildcards, output: str(Path(output.calls).parent),
        options=job_options,
        command=config.get("esr1calls", "esr1calls"),
    resources:
        mem_mb=1000,
        runtime=20,
    conda:
        "../envs/esr1calls.yaml"
    shell:
        "{params.command} ngs {input.data:q} {params.options} -o {params.outdir:q} 2> {log}"
