{#- CSV records (RFC 4180, comma-delimited): splitting a record into its fields, and the
    regular expressions that tell a well-formed record, or a line of a multi-line field. -#}

{#- Splits one CSV record (RFC 4180, comma-delimited) into its fields, quotes removed and doubled
    quotes undone. Only call it on records that csv_record_is_well_formed() accepted. -#}
{% macro split_csv_fields(record) %}
    {{ return(adapter.dispatch('split_csv_fields', 'transaction_lakehouse')(record)) }}
{% endmacro %}

{% macro default__split_csv_fields(record) -%}
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
