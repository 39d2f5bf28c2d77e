{#- Engine differences, one dispatched macro each: DuckDB (local) and Athena/Trino (production).
    Models call these and never test target.type themselves. -#}

{#- Splits one CSV record (RFC 4180, comma-delimited) into its fields, quotes removed and doubled
    quotes undone. Only call it on records that csv_record_is_well_formed() accepted. -#}
{% macro split_csv_fields(record) %}
    {{ return(adapter.dispatch('split_csv_fields', 'transaction_lakehouse')(record)) }}
{% endmacro %}

{% macro duckdb__split_csv_fields(record) -%}
    case
        when strpos({{ record }}, '"') = 0 then string_split({{ record }}, ',')
        else list_transform(
            regexp_extract_all(',' || {{ record }}, '{{ csv_field_pattern() }}', 1),
            lambda f: case
                when f like '"%' then replace(substr(f, 2, length(f) - 2), '""', '"')
                else f
            end
        )
    end
{%- endmacro %}

{% macro athena__split_csv_fields(record) -%}
    case
        when strpos({{ record }}, '"') = 0 then split({{ record }}, ',')
        else transform(
            regexp_extract_all(',' || {{ record }}, '{{ csv_field_pattern() }}', 1),
            f -> case
                when f like '"%' then replace(substr(f, 2, length(f) - 2), '""', '"')
                else f
            end
        )
    end
{%- endmacro %}

{#- The CSV patterns (RFC 4180, comma-delimited) are built from the pieces below, each written
    once, so that a line can match them in one way only. Trino's regex engine (Joni) backtracks:
    when a pattern could share the blanks around a field out between two of its parts in several
    ways, a line that fails late (a stray quote after padded fields) made it try every
    combination, exponential in the number of fields (22-38 s for five fields with five blanks each
    side; DuckDB's RE2 is linear whatever the pattern). RE2 has no atomic groups or possessive
    quantifiers, so the text stays shared and unambiguous instead: leading blanks belong to the
    blanks before a field, an unquoted field starts with a character that is not a blank and keeps
    its trailing blanks, and only a quoted field is followed by blanks of its own. Every
    anchored pattern ends with \z, the end of the text on both engines ($ also matches before a
    final line break in Java's syntax, not in RE2's). -#}

{#- Blanks around a field. -#}
{% macro csv_blanks() -%}
    [ \t]*
{%- endmacro %}

{#- The text inside a quoted field: anything but a quote, or a doubled quote. -#}
{% macro csv_quoted_text() -%}
    (?:[^"]|"")*
{%- endmacro %}

{#- A quoted field, quotes included. -#}
{% macro csv_quoted_field() -%}
    "{{ csv_quoted_text() }}"
{%- endmacro %}

{#- An unquoted field after its leading blanks: empty, or from its first character that is not a
    blank, trailing blanks included. -#}
{% macro csv_unquoted_field() -%}
    (?:[^,"\t ][^,"]*)?
{%- endmacro %}

{#- A field after its leading blanks, up to its comma or the end: a quoted field and the blanks
    after it, or an unquoted field. -#}
{% macro csv_field_body() -%}
    (?:{{ csv_quoted_field() }}{{ csv_blanks() }}|{{ csv_unquoted_field() }})
{%- endmacro %}

{#- One field after a comma, for extracting the fields of a well-formed record: capture group 1 is
    the quoted field (quotes included) or the unquoted field (trailing blanks included); the blanks
    before it and after a quoted field are outside the group. Only searched for (regexp_extract_all,
    never anchored at its end), so the first way it matches is always the one taken. -#}
{% macro csv_field_pattern() -%}
    ,{{ csv_blanks() }}({{ csv_quoted_field() }}|{{ csv_unquoted_field() }}){{ csv_blanks() }}
{%- endmacro %}

{#- A line that can open a quoted field running onto the next line: well-formed fields, then a
    quoted field that is not closed. -#}
{% macro csv_opens_multiline_field(line) -%}
    {%- set pattern -%}
        ^(?:{{ csv_blanks() }}{{ csv_field_body() }},)*{{ csv_blanks() }}"{{ csv_quoted_text() }}\z
    {%- endset -%}
    {{ regex_matches(line, pattern) }}
{%- endmacro %}

{#- A line that can close such a field: the rest of the quoted field, then well-formed fields. -#}
{% macro csv_closes_multiline_field(line) -%}
    {%- set pattern -%}
        ^{{ csv_quoted_text() }}"{{ csv_blanks() }}(?:,{{ csv_blanks() }}{{ csv_field_body() }})*\z
    {%- endset -%}
    {{ regex_matches(line, pattern) }}
{%- endmacro %}

{#- A record that splits cleanly into fields: every comma-led field well-formed, to the end. -#}
{% macro csv_record_is_well_formed(record) -%}
    {%- set pattern -%}
        ^(?:,{{ csv_blanks() }}{{ csv_field_body() }})+\z
    {%- endset -%}
    (strpos({{ record }}, '"') = 0 or {{ regex_matches("',' || " ~ record, pattern) }})
{%- endmacro %}

{% macro regex_matches(expr, pattern) %}
    {{ return(adapter.dispatch('regex_matches', 'transaction_lakehouse')(expr, pattern)) }}
{% endmacro %}

{% macro duckdb__regex_matches(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro athena__regex_matches(expr, pattern) -%}
    regexp_like({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Capture group `group` of the first match; NULL when there is no match or the group is empty. -#}
{% macro regex_group(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{% macro array_size(array) %}
    {{ return(adapter.dispatch('array_size', 'transaction_lakehouse')(array)) }}
{% endmacro %}

{% macro duckdb__array_size(array) -%}
    len({{ array }})
{%- endmacro %}

{% macro athena__array_size(array) -%}
    cardinality({{ array }})
{%- endmacro %}

{#- 1-based element; NULL when the index is NULL or out of range. -#}
{% macro array_element(array, index) %}
    {{ return(adapter.dispatch('array_element', 'transaction_lakehouse')(array, index)) }}
{% endmacro %}

{% macro duckdb__array_element(array, index) -%}
    list_extract({{ array }}, {{ index }})
{%- endmacro %}

{% macro athena__array_element(array, index) -%}
    element_at({{ array }}, {{ index }})
{%- endmacro %}

{#- 1-based position of a value in an array; NULL when absent. -#}
{% macro array_index_of(array, value) %}
    {{ return(adapter.dispatch('array_index_of', 'transaction_lakehouse')(array, value)) }}
{% endmacro %}

{% macro duckdb__array_index_of(array, value) -%}
    nullif(coalesce(list_position({{ array }}, {{ value }}), 0), 0)
{%- endmacro %}

{% macro athena__array_index_of(array, value) -%}
    nullif(array_position({{ array }}, {{ value }}), 0)
{%- endmacro %}

{#- Removes surrounding blanks (spaces and tabs). -#}
{% macro trim_blanks(expr) %}
    {{ return(adapter.dispatch('trim_blanks', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{#- DuckDB: most values have nothing to trim, and checking the ends first is about twice as
    fast as trim() with a character set. -#}
{% macro duckdb__trim_blanks(expr) -%}
    case
        when
            prefix({{ expr }}, ' ') or suffix({{ expr }}, ' ')
            or prefix({{ expr }}, chr(9)) or suffix({{ expr }}, chr(9))
            then trim({{ expr }}, ' ' || chr(9))
        else {{ expr }}
    end
{%- endmacro %}

{% macro athena__trim_blanks(expr) -%}
    trim({{ expr }}, ' ' || chr(9))
{%- endmacro %}

{#- Casts 'YYYY-MM-DD HH:MM:SS.ffffff' to a timestamp; NULL for impossible values (2024-02-30). -#}
{% macro try_cast_timestamp(expr) %}
    {{ return(adapter.dispatch('try_cast_timestamp', 'transaction_lakehouse')(expr)) }}
{% endmacro %}

{% macro duckdb__try_cast_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp)
{%- endmacro %}

{% macro athena__try_cast_timestamp(expr) -%}
    try_cast({{ expr }} as timestamp(6))
{%- endmacro %}

{#- First day of every month from start_month to end_month (DATE columns of the one-row
    relation `bounds`), one row each, as a query with the single column month_start. -#}
{% macro month_starts(bounds) %}
    {{ return(adapter.dispatch('month_starts', 'transaction_lakehouse')(bounds)) }}
{% endmacro %}

{% macro duckdb__month_starts(bounds) -%}
    select cast(unnest(generate_series(
        cast(start_month as timestamp), cast(end_month as timestamp), interval 1 month
    )) as date) as month_start
    from {{ bounds }}
{%- endmacro %}

{% macro athena__month_starts(bounds) -%}
    select series.month_start
    from {{ bounds }}
    cross join unnest(sequence(start_month, end_month, interval '1' month)) as series (month_start)
{%- endmacro %}

{#- Applies trim_blanks() to every element of an array of strings. -#}
{% macro trim_blanks_each(array) %}
    {{ return(adapter.dispatch('trim_blanks_each', 'transaction_lakehouse')(array)) }}
{% endmacro %}

{% macro duckdb__trim_blanks_each(array) -%}
    list_transform({{ array }}, lambda f: {{ trim_blanks('f') }})
{%- endmacro %}

{% macro athena__trim_blanks_each(array) -%}
    transform({{ array }}, f -> {{ trim_blanks('f') }})
{%- endmacro %}

{#- The timestamp type of the marts: microseconds everywhere (Athena's plain timestamp is
    milliseconds; Iceberg stores microseconds). -#}
{% macro timestamp_type() %}
    {{ return(adapter.dispatch('timestamp_type', 'transaction_lakehouse')()) }}
{% endmacro %}

{% macro default__timestamp_type() -%}
    timestamp
{%- endmacro %}

{% macro athena__timestamp_type() -%}
    timestamp(6)
{%- endmacro %}


{#- Fails the query with `message` (a SQL text expression) when evaluated; typed as unknown, so
    cast it to the type the expression needs. Only evaluated where a CASE reaches it. -#}
{% macro fail_query(message) %}
    {{ return(adapter.dispatch('fail_query', 'transaction_lakehouse')(message)) }}
{% endmacro %}

{% macro duckdb__fail_query(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro athena__fail_query(message) -%}
    fail({{ message }})
{%- endmacro %}
