{#-
    Every record of every landed file, split, trimmed, typed and checked against the row-level
    rules of the spec. One row per record (a CSV row after quoting; blank lines are not records).
    Duplicate rules need history and are applied in int_transactions__classified.
-#}
{%- set file_columns = transaction_file_columns() -%}

with

-- each relation reads the lines by itself (no shared CTE that the engine would materialise
-- whole): an incremental model's run_id bound then reaches every read, and a run's lines are
-- only scanned by the reads that need them
header_lines as (
    select
        run_id,
        line_text,
        is_readable,
        landed_at
    from {{ ref('base_landing__transaction_lines') }}
    where line_number = 1
),

-- files without a line holding an odd number of quotes (nearly all) cannot hold a multi-line
-- record (unknown: assume they can)
plain_file_lines as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text,
        is_readable,
        line_length,
        landed_at
    from {{ ref('base_landing__transaction_lines') }}
    where line_number > 1 and not coalesce(may_span_lines, true)
),

quoted_file_lines as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text,
        is_readable,
        line_length,
        landed_at
    from {{ ref('base_landing__transaction_lines') }}
    where line_number > 1 and coalesce(may_span_lines, true)
),

currencies as (
    select currency_code
    from {{ ref('iso_4217_currencies') }}
),

-- the first line of each file is its header; columns are matched by name, in any order
header_fields as (
    select
        run_id,
        landed_at,
        is_readable and {{ csv_record_is_well_formed('line_text') }} as is_parseable,
        {{ trim_blanks_each(split_csv_fields('line_text')) }} as field_names
    from header_lines
),

-- the header matches the contract when it names every required column and only declared
-- columns, each once (optional columns, added by minor contract versions, may be absent)
header_positions as (
    select
        run_id,
        landed_at,
        is_parseable,
        {{ array_size('field_names') }} as field_count,
        {%- for column in file_columns %}
        {{ array_index_of('field_names', "'" ~ column.header ~ "'") }}
            as {{ column.column }}_position,
        {%- endfor %}
        0
        {%- for column in file_columns %}
        + case
            when {{ array_index_of('field_names', "'" ~ column.header ~ "'") }} is null then 0
            else 1
        end
        {%- endfor %} as declared_count
    from header_fields
),

headers as (
    select
        *,
        coalesce(
            is_parseable
            and field_count = declared_count
            {%- for column in file_columns if column.required %}
            and {{ column.column }}_position is not null
            {%- endfor %},
            false
        ) as matches_contract
    from header_positions
),

-- a quoted field may span lines. Only a line with an odd number of quotes can open or close one:
-- shaped like the start of such a field (a quote at the start of a field, not closed), it flips
-- the state (outside: opens; inside: the field ends there); shaped only like its end (the rest
-- of a quoted field, a quote, then fields), it ends an open field and opens none (outside, it is
-- a stray quote: an error of its own line). Other lines keep the state.
data_lines as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        is_readable,
        line_length,
        landed_at,
        coalesce(line_text, '') as line_text,
        case
            when strpos(line_text, '"') = 0 then 'none'
            when (length(line_text) - length(replace(line_text, '"', ''))) % 2 = 0 then 'none'
            when {{ csv_opens_multiline_field('line_text') }} then 'flip'
            when coalesce({{ csv_closes_multiline_field('line_text') }}, false) then 'close'
            else 'none'
        end as quote_role
    from quoted_file_lines
),

quote_flips as (
    select
        *,
        sum(case when quote_role = 'flip' then 1 else 0 end) over (
            partition by run_id
            order by line_number
            rows between unbounded preceding and current row
        ) as flips_so_far
    from data_lines
),

-- the state before a line: the parity of the flips since the last closing line before it (that
-- line's flip count is packed into the running maximum as its parity)
quote_closes as (
    select
        *,
        max(
            case when quote_role = 'close' then line_number * 2 + flips_so_far % 2 end
        ) over (
            partition by run_id
            order by line_number
            rows between unbounded preceding and 1 preceding
        ) as last_close_before
    from quote_flips
),

quote_states as (
    select
        *,
        (
            flips_so_far
            - case when quote_role = 'flip' then 1 else 0 end
            + coalesce(last_close_before % 2, 0)
        ) % 2 = 1 as is_inside_before
    from quote_closes
),

-- a line outside any field starts a record; the lines inside one continue it
record_starts as (
    select
        *,
        case
            when quote_role = 'close' then false
            when quote_role = 'flip' then not is_inside_before
            else is_inside_before
        end as is_inside_after,
        sum(case when is_inside_before then 0 else 1 end) over (
            partition by run_id
            order by line_number
            rows between unbounded preceding and current row
        ) as record_number
    from quote_states
),

-- a field still open at the end of the file is an unterminated quote: the lines of its record
-- stand alone (the opening line then fails to parse) so that the rest of the file is not
-- swallowed
line_records as (
    select
        *,
        case
            when
                record_number = max(record_number) over (partition by run_id)
                and max(line_number * 2 + case when is_inside_after then 1 else 0 end) over (
                    partition by run_id
                ) % 2 = 1
                then null
            else record_number
        end as record_key
    from record_starts
),

-- one record per line outside fields, one per multi-line record; grouping (not a second read of
-- line_records) keeps the records a single streamed pass. A blank line is a record only inside a
-- field.
quoted_file_records as (
    select
        run_id,
        ingest_date,
        source_file,
        landed_at,
        min(line_number) as line_number,
        {{ dbt.listagg('line_text', 'chr(10)', 'order by line_number') }} as record_text,
        bool_and(is_readable) as is_readable,
        sum(case when line_text <> '' then 1 else 0 end) as source_line_count,
        -- the record's characters as received, its lines joined by line breaks
        sum(coalesce(line_length, 0)) + count(*) - 1 as record_length
    from line_records
    where line_text <> '' or (is_inside_before and record_key is not null)
    group by
        run_id,
        ingest_date,
        source_file,
        landed_at,
        record_key,
        case when record_key is null then line_number end
),

records as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        line_text as record_text,
        is_readable,
        landed_at,
        1 as source_line_count,
        line_length as record_length
    from plain_file_lines
    where line_text <> ''
    union all
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        record_text,
        is_readable,
        landed_at,
        source_line_count,
        record_length
    from quoted_file_records
),

split_records as (
    select
        records.run_id,
        records.ingest_date,
        records.source_file,
        records.line_number,
        records.record_text,
        records.source_line_count,
        records.record_length,
        records.landed_at,
        headers.matches_contract,
        headers.field_count,
        {%- for column in file_columns %}
        headers.{{ column.column }}_position,
        {%- endfor %}
        records.is_readable
        and {{ csv_record_is_well_formed('records.record_text') }} as is_well_formed
    from records
    -- every file with a record has a header line; joining on the run's landing moment as well
    -- lets an incremental model's bounds reach the header scan too
    inner join headers
        on records.run_id = headers.run_id and records.landed_at = headers.landed_at
),

fields as (
    select
        *,
        case
            when is_well_formed and matches_contract
                then {{ split_csv_fields('record_text') }}
        end as field_values
    from split_records
),

-- raw values as received (quotes removed), NULL when the record could not be split
received as (
    select
        run_id,
        ingest_date,
        source_file,
        line_number,
        record_text,
        source_line_count,
        record_length,
        landed_at,
        {%- for column in file_columns %}
        case
            when {{ array_size('field_values') }} = field_count
                then {{ array_element('field_values', column.column ~ '_position') }}
        end as {{ column.column }}_raw,
        {%- endfor %}
        coalesce(
            matches_contract
            and is_well_formed
            and {{ array_size('field_values') }} = field_count,
            false
        ) as is_parseable
    from fields
),

trimmed as (
    select
        {%- for column in file_columns %}
        nullif({{ trim_blanks(column.column ~ '_raw') }}, '') as {{ column.column }}_text,
        {%- endfor %}
        *
    from received
),

typed as (
    select
        trimmed.*,
        upper(trimmed.currency_text) as currency_code,
        {{ regex_matches('trimmed.transaction_amount_text', amount_pattern()) }} as is_plain_amount,
        {{ regex_matches('trimmed.transaction_timestamp_text', timestamp_pattern()) }}
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
    from typed
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

converted as (
    select
        *,
        case
            when is_plain_amount then cast(transaction_amount_text as decimal(18, 2))
        end as amount,
        case
            when not has_invalid_offset
                then {{ dbt.dateadd('minute', '-utc_offset_minutes', 'local_ts') }}
        end as transaction_ts
    from zoned
),

checked as (
    select
        converted.*,
        not converted.is_parseable as has_schema_error,
        converted.is_parseable and (
            {%- for column in file_columns if column.required %}
            converted.{{ column.column }}_text is null{{ ' or' if not loop.last }}
            {%- endfor %}
        ) as has_null_value_error,
        converted.is_parseable
        and converted.transaction_amount_text is not null
        and not converted.is_plain_amount as has_type_error,
        converted.is_parseable
        and converted.currency_code is not null
        and currencies.currency_code is null as has_currency_error,
        converted.is_parseable
        and converted.transaction_timestamp_text is not null
        and (
            converted.transaction_ts is null
            or converted.transaction_ts < {{ business_time_floor_ts() }}
            or converted.transaction_ts > converted.landed_at
        ) as has_timestamp_error
    from converted
    left join currencies on converted.currency_code = currencies.currency_code
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
        transaction_id_text as transaction_id,
        customer_id_text as account_id,
        amount,
        currency_code as currency,
        transaction_ts,
        {%- for column in file_columns if not column.required %}
        {{ column.column }}_text as {{ column.column }},
        {%- endfor %}
        has_schema_error,
        has_null_value_error,
        has_type_error,
        has_currency_error,
        has_timestamp_error,
        {{ validation_error(row_level_validation_codes()) }} as validation_error
    from checked
)

select * from final
