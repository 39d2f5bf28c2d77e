{#-
    Every record checked against the row-level rules of the spec: SCHEMA_ERROR, NULL_VALUE_ERROR,
    TYPE_ERROR, CURRENCY_ERROR, TIMESTAMP_ERROR, every code a record fails, in the spec's order.
    Duplicate rules need history and are applied in int_transactions__classified. A view: the
    classification reads the records it needs through it. One row per record (run_id,
    line_number).
-#}
{{ config(materialized='view') }}

{%- set file_columns = transaction_file_columns() -%}

with

records as (
    select *
    from {{ ref('stg_landing__transactions') }}
),

currencies as (
    select currency_code
    from {{ ref('iso_4217_currencies') }}
),

checked as (
    select
        records.*,
        not records.is_parseable as has_schema_error,
        records.is_parseable and (
            {%- for column in file_columns if column.required %}
            records.{{ column.column }}_text is null{{ ' or' if not loop.last }}
            {%- endfor %}
        ) as has_null_value_error,
        records.is_parseable
        and records.transaction_amount_text is not null
        and records.amount is null as has_type_error,
        records.is_parseable
        and records.currency is not null
        and currencies.currency_code is null as has_currency_error,
        records.is_parseable
        and records.transaction_timestamp_text is not null
        and (
            records.transaction_ts is null
            or records.transaction_ts < {{ business_time_floor_ts() }}
            or records.transaction_ts > records.landed_at
        ) as has_timestamp_error
    from records
    left join currencies on records.currency = currencies.currency_code
),

final as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        landed_at,
        record_text,
        source_line_count,
        record_length,
        {%- for column in file_columns %}
        {{ column.column }}_raw,
        {%- endfor %}
        transaction_id,
        account_id,
        amount,
        currency,
        transaction_ts,
        {%- for column in file_columns if not column.required %}
        {{ column.column }},
        {%- endfor %}
        has_schema_error,
        has_null_value_error,
        has_type_error,
        has_currency_error,
        has_timestamp_error,
        {{ validation_error(row_level_validation_codes()) }} as validation_error,
        {{ validation_detail(row_level_validation_codes()) }} as validation_detail
    from checked
)

select * from final
