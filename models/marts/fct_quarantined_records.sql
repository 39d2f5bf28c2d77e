{#- Every rejected record with its values as received and every code it failed. Append-only:
    a record is quarantined once, in the build that first sees its run. A value as received is
    named after the typed column it would have become, with `_raw` (the intermediate model names
    them after the file's headers). -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    table_type='iceberg',
    partitioned_by=['ingest_date'],
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

with

rejected as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        record_text,
        record_length,
        transaction_id_raw,
        customer_id_raw,
        transaction_amount_raw,
        currency_raw,
        transaction_timestamp_raw,
        validation_error,
        validation_detail
    from {{ ref('int_transactions__classified') }}
    where record_status = 'quarantined' and {{ new_runs_only(landed_column='landed_at') }}
),

final as (
    select
        cast(run_id as varchar) as run_id,
        cast(ingest_date as date) as ingest_date,
        cast(source_file as varchar) as source_file,
        cast(line_number as bigint) as line_number,
        cast(record_text as varchar) as record_text,
        cast(record_length as bigint) as record_length,
        cast(transaction_id_raw as varchar) as transaction_id_raw,
        cast(customer_id_raw as varchar) as account_id_raw,
        cast(transaction_amount_raw as varchar) as amount_raw,
        cast(currency_raw as varchar) as currency_raw,
        cast(transaction_timestamp_raw as varchar) as transaction_ts_raw,
        cast(validation_error as varchar) as validation_error,
        cast(validation_detail as varchar) as validation_detail,
        {{ build_started_at() }} as quarantined_at
    from rejected
)

select * from final
