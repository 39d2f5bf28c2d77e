{#-
    The operations work list: every quarantined record that is open (no resolution by delivery,
    and no decision or a reopen last), with its owner and how long it has been open. A view over
    fct_quarantine_lifecycle: its age is counted when it is read (whole days since it became
    open). The alert quarantine_open (test quarantine_open_at_most_days) fires for records open
    longer than var quarantine_max_open_days.
-#}
{{ config(materialized='view') }}

with

open_records as (
    select
        run_id,
        line_number,
        ingest_date,
        source_file,
        landed_at,
        transaction_id_raw,
        validation_error,
        status_since,
        decision,
        decided_by,
        decision_reason,
        owner
    from {{ ref('fct_quarantine_lifecycle') }}
    where status = 'open'
),

final as (
    select
        cast(run_id as varchar) as run_id,
        cast(line_number as bigint) as line_number,
        cast(ingest_date as date) as ingest_date,
        cast(source_file as varchar) as source_file,
        cast(landed_at as {{ timestamp_type() }}) as landed_at,
        cast(transaction_id_raw as varchar) as transaction_id_raw,
        cast(validation_error as varchar) as validation_error,
        cast(owner as varchar) as owner,
        cast(status_since as {{ timestamp_type() }}) as open_since,
        cast({{ whole_days_between('status_since', utc_now()) }} as bigint) as age_days,
        cast(coalesce(decision = 'reopen', false) as boolean) as is_reopened,
        cast(decided_by as varchar) as reopened_by,
        cast(decision_reason as varchar) as reopen_reason
    from open_records
)

select * from final
