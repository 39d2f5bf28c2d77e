{#- One row per landed run: what came in and what became of it (spec: "Run metrics").
    A run is classified once, so its metrics never change: incremental, each build adds the rows
    of the runs landed since (one pass over their classified records, grouped by run). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    table_type='iceberg',
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

with

runs as (
    select
        run_id,
        ingest_date,
        landed_at,
        source_file,
        bytes,
        header_matches_contract,
        header_fingerprint
    from {{ ref('stg_landing__runs') }}
    where {{ new_runs_only() }}
),

records as (
    select
        run_id,
        record_status,
        validation_error,
        transaction_ts
    from {{ ref('int_transactions__classified') }}
    where {{ new_runs_only(landed_column='landed_at') }}
),

per_run as (
    select
        run_id,
        count(*) as input_rows,
        sum(case when record_status = 'accepted' then 1 else 0 end) as valid_rows,
        sum(case when record_status = 'quarantined' then 1 else 0 end) as quarantined_rows,
        sum(case when record_status = 'duplicate' then 1 else 0 end) as duplicate_rows,
        {%- for code in validation_codes() %}
        sum(
            case when strpos(',' || validation_error || ',', ',{{ code }},') > 0 then 1 else 0 end
        ) as quarantined_{{ code | lower }},
        {%- endfor %}
        min(case when record_status = 'accepted' then transaction_ts end) as first_transaction_ts,
        max(case when record_status = 'accepted' then transaction_ts end) as last_transaction_ts
    from records
    group by run_id
),

final as (
    select
        cast(runs.run_id as varchar) as run_id,
        cast(runs.ingest_date as date) as ingest_date,
        cast(runs.source_file as varchar) as source_file,
        cast(runs.landed_at as {{ timestamp_type() }}) as landed_at,
        cast(runs.bytes as bigint) as bytes,
        cast(runs.header_matches_contract as boolean) as header_matches_contract,
        cast(runs.header_fingerprint as varchar) as header_fingerprint,
        cast(per_run.first_transaction_ts as {{ timestamp_type() }}) as first_transaction_ts,
        cast(per_run.last_transaction_ts as {{ timestamp_type() }}) as last_transaction_ts,
        cast(coalesce(per_run.input_rows, 0) as bigint) as input_rows,
        cast(coalesce(per_run.valid_rows, 0) as bigint) as valid_rows,
        cast(coalesce(per_run.quarantined_rows, 0) as bigint) as quarantined_rows,
        cast(coalesce(per_run.duplicate_rows, 0) as bigint) as duplicate_rows,
        cast(
            coalesce(
                cast(per_run.quarantined_rows as double) / nullif(per_run.input_rows, 0), 0
            )
            as double
        ) as quarantine_rate,
        {%- for code in validation_codes() %}
        cast(coalesce(per_run.quarantined_{{ code | lower }}, 0) as bigint)
            as quarantined_{{ code | lower }},
        {%- endfor %}
        {{ build_started_at() }} as built_at
    from runs
    left join per_run on runs.run_id = per_run.run_id
)

select * from final
