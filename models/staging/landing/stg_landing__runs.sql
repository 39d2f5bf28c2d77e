{#- One row per landed run, from the loader's manifests. -#}
with

manifests as (
    select
        run_id,
        ingest_date,
        landed_at,
        file_name,
        bytes,
        sha256,
        line_count,
        header,
        header_matches_contract,
        header_fingerprint,
        utf8_valid,
        contract_version
    from {{ source('landing', 'transaction_manifests') }}
),

final as (
    select
        run_id,
        ingest_date,
        landed_at,
        file_name as source_file,
        bytes,
        sha256,
        line_count,
        header,
        header_matches_contract,
        header_fingerprint,
        utf8_valid,
        contract_version
    from manifests
)

select * from final
