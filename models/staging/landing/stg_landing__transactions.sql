{#-
    Every record of every landed file with its values trimmed and typed: the amount as a
    decimal, the currency upper-cased, the timestamp as a UTC instant. A value that does not have
    its type's form is NULL here beside its trimmed text; the row-level rules are applied in
    int_transactions__validated. One row per record (run_id, line_number).
-#}
{%- set file_columns = transaction_file_columns() -%}

with

fields as (
    select *
    from {{ ref('base_landing__transaction_fields') }}
),

trimmed as (
    select
        {%- for column in file_columns %}
        nullif({{ trim_blanks(column.column ~ '_raw') }}, '') as {{ column.column }}_text,
        {%- endfor %}
        *
    from fields
),

shapes as (
    select
        *,
        {{ regex_matches('transaction_amount_text', amount_pattern()) }} as is_plain_amount,
        {{ regex_matches('transaction_timestamp_text', timestamp_pattern()) }}
            as is_timestamp_shaped
    from trimmed
),

-- the shape is fixed up to the seconds: date (1-10), separator, time (12-19), then optional
-- fraction and zone
timestamp_parts as (
    select
        *,
        case when is_timestamp_shaped then substr(transaction_timestamp_text, 1, 10) end
            as ts_date,
        case when is_timestamp_shaped then substr(transaction_timestamp_text, 12, 8) end
            as ts_time,
        case when is_timestamp_shaped then substr(transaction_timestamp_text, 20) end
            as ts_tail
    from shapes
),

timestamp_tails as (
    select
        *,
        case
            when ts_tail like '.%'
                then {{ regex_group('ts_tail', timestamp_fraction_pattern(), 1) }}
        end as ts_fraction
    from timestamp_parts
),

zones as (
    select
        *,
        nullif(replace(substr(ts_tail, length(coalesce(ts_fraction, '')) + 1), ':', ''), '')
            as ts_zone
    from timestamp_tails
),

offsets as (
    select
        *,
        case
            when ts_zone like '+%' or ts_zone like '-%' then cast(substr(ts_zone, 2, 2) as integer)
        end as zone_hours,
        case
            when length(ts_zone) = 5 then cast(substr(ts_zone, 4, 2) as integer)
        end as zone_minutes
    from zones
),

-- an offset beyond +-18:00 or with more than 59 minutes is no offset: the instant stays NULL
zoned as (
    select
        *,
        (case when ts_zone like '-%' then -1 else 1 end)
        * (coalesce(zone_hours, 0) * 60 + coalesce(zone_minutes, 0)) as utc_offset_minutes,
        coalesce(zone_hours > 18 or zone_minutes > 59, false) as has_invalid_offset,
        {{ try_cast_timestamp(
            "ts_date || ' ' || ts_time || coalesce(substr(ts_fraction || '000000', 1, 7), '')"
        ) }} as local_ts
    from offsets
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
        is_parseable,
        header_matches_contract,
        is_readable,
        is_well_formed,
        header_field_count,
        record_field_count,
        {%- for column in file_columns %}
        {{ column.column }}_position,
        {%- endfor %}
        {%- for column in file_columns %}
        {{ column.column }}_raw,
        {{ column.column }}_text,
        {%- endfor %}
        {%- for column in file_columns if not column.required %}
        {{ column.column }}_text as {{ column.column }},
        {%- endfor %}
        transaction_id_text as transaction_id,
        customer_id_text as account_id,
        case
            when is_plain_amount then cast(transaction_amount_text as decimal(18, 2))
        end as amount,
        upper(currency_text) as currency,
        case
            when not has_invalid_offset
                then {{ dbt.dateadd('minute', '-utc_offset_minutes', 'local_ts') }}
        end as transaction_ts
    from zoned
)

select * from final
