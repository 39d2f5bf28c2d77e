{#- The single place where the plain words of validation_detail live: for each validation code,
    what was wrong, naming the file's field (its header name). A record's validation_detail joins
    the words of every code it failed with '; ', in the order of validation_codes() (the order of
    validation_error). Each part reads the columns of int_transactions__validated's `checked` CTE
    (DUPLICATE_CONFLICT: int_transactions__classified's `statuses`); only failing rows pay for the
    wording. Within one code, several fields are joined with ', ', so '; ' separates codes. -#}

{#- The words for one code, NULL when the row does not fail it. -#}
{% macro validation_detail_of(code) -%}
    {%- set file_columns = transaction_file_columns() -%}
    case when {{ validation_flag(code) }} then
    {%- if code == 'SCHEMA_ERROR' %}
        case
            when not coalesce(header_matches_contract, false) then coalesce(nullif(concat_ws(', '
                {%- for column in file_columns if column.required %},
                case when {{ column.column }}_position is null then 'header lacks {{ column.header }}' end
                {%- endfor %}
            ), ''), 'header has a column that is not in the contract, or one twice')
            when not is_readable then 'line is not valid UTF-8 or too long'
            when not is_well_formed then 'line is not well-formed CSV (a stray or unclosed quote)'
            when record_field_count <> header_field_count
                then cast(record_field_count as varchar)
                    || case when record_field_count = 1 then ' field' else ' fields' end
                    || ', expected '
                    || cast(header_field_count as varchar)
            else 'line cannot be split into fields'
        end
    {%- elif code == 'NULL_VALUE_ERROR' %}
        concat_ws(', '
            {%- for column in file_columns if column.required %},
            case when {{ column.column }}_text is null then '{{ column.header }} is empty' end
            {%- endfor %}
        )
    {%- elif code == 'TYPE_ERROR' %}
        case
            when {{ regex_matches('transaction_amount_text', '^[+-]?[0-9]*[.][0-9]*[1-9]0*\\z') }}
                and length({{ regex_group('transaction_amount_text', '[.]([0-9]*[1-9])0*\\z', 1) }}) > 2
                then 'TransactionAmount has '
                    || cast(length({{ regex_group('transaction_amount_text', '[.]([0-9]*[1-9])0*\\z', 1) }}) as varchar)
                    || ' decimals, at most 2 allowed'
            when {{ regex_matches('transaction_amount_text', '^[+-]?[0-9]+([.][0-9]*)?\\z') }}
                then 'TransactionAmount is out of range (more than 16 digits before the point)'
            else 'TransactionAmount is not a number (plain decimal expected)'
        end
    {%- elif code == 'CURRENCY_ERROR' %}
        'Currency ' || currency || ' is not in the allowlist'
    {%- elif code == 'TIMESTAMP_ERROR' %}
        case
            when transaction_ts is null
                and not {{ regex_matches('transaction_timestamp_text', timestamp_pattern()) }}
                then 'TransactionTimestamp is not an ISO-8601 timestamp'
            when transaction_ts is null
                then 'TransactionTimestamp is an impossible date, time or offset'
            when transaction_ts < {{ business_time_floor_ts() }}
                then 'TransactionTimestamp before {{ business_time_floor()[:10] }}'
            else 'TransactionTimestamp later than landing'
        end
    {%- elif code == 'DUPLICATE_CONFLICT' %}
        'duplicate of run ' || winner_run_id || ' line ' || cast(winner_line_number as varchar)
            || ' with other content'
    {%- else %}
        {{ exceptions.raise_compiler_error('validation_detail_of(): unknown validation code ' ~ code) }}
    {%- endif %}
    end
{%- endmacro %}

{#- validation_detail: the words of every failed code among `codes` (default: every code), in
    the canonical order, joined with '; '; NULL when none failed. `prefix`: an earlier detail
    column to start with (classified adds DUPLICATE_CONFLICT to the row-level detail). -#}
{% macro validation_detail(codes=none, prefix=none) %}
    {%- set codes = validation_codes() if codes is none else codes -%}
    nullif(concat_ws('; '
    {%- if prefix is not none %}, {{ prefix }}{% endif %}
    {%- for code in validation_codes() if code in codes %},
        {{ validation_detail_of(code) }}
    {%- endfor %}
    ), '')
{% endmacro %}
