{#-
    Quarantined records that a later delivery resolved: an ACCEPTED version of the same
    TransactionID arrived after them (a later run, or a later line of the same file). Computed
    by the build, never typed in. A TransactionID has at most one accepted version (the
    first-landed valid one), so a record is resolved at most once, and a record quarantined
    after that version (a DUPLICATE_CONFLICT) is never resolved by delivery. Incremental append:
    each build reads the accepted records of the runs after the latest resolving run it holds
    and looks for quarantined records of the same TransactionIDs before them. A run read again
    (after a build that found no resolution) finds nothing new: every record before it was
    classified by then.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    table_type='iceberg',
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

{%- set new_runs = new_runs_only(
    processed_column='resolved_by_run_id', landed_column='landed_at'
) %}

with

new_accepted as (
    select
        transaction_id,
        run_id,
        source_file,
        line_number,
        landed_at
    from {{ ref('int_transactions__classified') }}
    where record_status = 'accepted' and {{ new_runs }}
),

-- every quarantined record with a TransactionID, whichever run it came from: a small share of
-- the records, so the join below builds its hash table on them, not on the accepted ones
quarantined as (
    select
        transaction_id,
        run_id,
        line_number
    from {{ ref('int_transactions__classified') }}
    where record_status = 'quarantined' and transaction_id is not null
),

final as (
    select
        cast(quarantined.run_id as varchar) as run_id,
        cast(quarantined.line_number as bigint) as line_number,
        cast(quarantined.transaction_id as varchar) as transaction_id,
        cast(new_accepted.run_id as varchar) as resolved_by_run_id,
        cast(new_accepted.source_file as varchar) as resolved_by_source_file,
        cast(new_accepted.line_number as bigint) as resolved_by_line_number,
        cast(new_accepted.landed_at as {{ timestamp_type() }}) as resolved_at
    from quarantined
    inner join new_accepted
        on
            quarantined.transaction_id = new_accepted.transaction_id
            and (
                quarantined.run_id < new_accepted.run_id
                or (
                    quarantined.run_id = new_accepted.run_id
                    and quarantined.line_number < new_accepted.line_number
                )
            )
)

select * from final
