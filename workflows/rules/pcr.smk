rule esr1calls_pcr:
    """ARMS-PCR: one plate (run) per job."""
    input:
        exports=job_inputs,
        plate_map=job_plate_map,
    output:
        calls=f"{OUTDIR}/pcr/{{job}}/calls.json",
        table=f"{OUTDIR}/pcr/{{job}}/calls.tsv",
        samples=f"{OUTDIR}/pcr/{{job}}/samples.tsv",
    log:
        "logs/esr1calls/pcr/{job}.log",
    params:
        outdir=lambda wildcards, output: str(Path(output.calls).parent),
        plate_maps=job_plate_map_options,
        options=job_options,
        command=config.get("esr1calls", "esr1calls"),
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/esr1calls.yaml"
    shell:
        "{params.command} pcr {input.exports:q} {params.plate_maps} {params.options}"
        " -o {params.outdir:q} 2> {log}"
