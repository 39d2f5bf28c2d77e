{#- Processed transactions: one row per accepted TransactionID (its first-landed valid version).
    Incremental merge on the business key (plus transaction_ts, which an accepted
    version never changes, so that Iceberg prunes the merge to the months the batch touches); each build adds only the runs classified since. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['transaction_id', 'transaction_ts'],
    on_schema_change='append_new_columns',
    table_type='iceberg',
    partitioned_by=['month(transaction_ts)'],
    post_hook=["{{ iceberg_optimize(this) }}", "{{ iceberg_vacuum(this) }}"],
) }}

{%- set optional_columns = transaction_file_columns() | rejectattr('required') | list %}

with

accepted as (
    select
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        {%- for column in optional_columns %}
        {{ column.column }},
        {%- endfor %}
        run_id,
        source_file,
        line_number,
        landed_at
    from {{ ref('int_transactions__classified') }}
    where record_status = 'accepted' and {{ new_runs_only(landed_column='landed_at') }}
),

final as (
    select
        cast(transaction_id as varchar) as transaction_id,
        cast(account_id as varchar) as account_id,
        cast(amount as decimal(18, 2)) as amount,
        cast(currency as varchar) as currency,
        cast(transaction_ts as {{ timestamp_type() }}) as transaction_ts,
        cast(transaction_ts as date) as transaction_date,
        cast({{ month_text('cast(transaction_ts as date)') }} as varchar) as month,
        cast(run_id as varchar) as run_id,
        cast(source_file as varchar) as source_file,
        cast(line_number as bigint) as line_number,
        {%- for column in optional_columns %}
        cast({{ column.column }} as varchar) as {{ column.column }},
        {%- endfor %}
        cast(landed_at as {{ timestamp_type() }}) as landed_at
    from accepted
)

select * from final
