rule esr1calls_monitor:
    """Every patient's hotspots over time (esr1calls monitor over every job's calls.json, each
    job's folder its run), as esr1calls batch writes them when samples name patients."""
    input:
        job_outputs(),
    output:
        [f"{OUTDIR}/monitor/{name}" for name in PLAN["monitor_files"]],
    log:
        "logs/esr1calls/monitor.log",
    params:
        outdir=lambda wildcards, output: str(Path(output[0]).parent),
        flags="--reproducible" if config["reproducible"] else "",
        command=ESR1CALLS,
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/esr1calls.yaml"
    shell:
        "{params.command:q} monitor {input:q} {params.flags} -o {params.outdir:q} 2> {log}"
        " || {{ cat {log} >&2; exit 1; }}"
