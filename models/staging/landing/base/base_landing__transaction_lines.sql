{#-
    The raw layer's lines, copied once into the warehouse: each build appends the runs landed
    since the last one. Staging reads this table, not the files: a file's line numbers come from
    a streaming count that the engine runs on one thread, and staging's parse is read several
    times per build (docs/benchmarks.md); from a table the parse runs on every core. The files
    stay the record of what arrived; a full refresh copies them again.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    table_type='iceberg',
    partitioned_by=['ingest_date'],
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

with

lines as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text,
        is_readable,
        may_span_lines,
        line_length
    from {{ source('landing', 'transaction_lines') }}
    where {{ new_runs_only() }}
),

-- the landing moment the run_id begins with (the manifest's landed_at): a typed column whose
-- stored block statistics let later builds skip the lines of runs they already processed
final as (
    select
        *,
        {{ run_landed_at('run_id') }} as landed_at
    from lines
)

select * from final
