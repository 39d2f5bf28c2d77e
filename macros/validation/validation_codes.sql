{#- The single place where validation codes and their order live (spec: "Validation codes").
    Models emit codes only through validation_error(); tests read the list from here. -#}
{% macro validation_codes() %}
    {{ return([
        'SCHEMA_ERROR',
        'NULL_VALUE_ERROR',
        'TYPE_ERROR',
        'CURRENCY_ERROR',
        'TIMESTAMP_ERROR',
        'DUPLICATE_CONFLICT',
    ]) }}
{% endmacro %}

{#- A validation_error value: known codes, each at most once, comma-separated, in the canonical
    order (also matches the empty string, which the test refuses by itself). \z: the end of the
    text on both engines (see amount_pattern()). -#}
{% macro validation_error_pattern() -%}
    ^{% for code in validation_codes() %}({{ code }}(,|\z))?{% endfor %}\z
{%- endmacro %}

{#- Codes decided from the record alone (staging); DUPLICATE_CONFLICT needs history. -#}
{% macro row_level_validation_codes() %}
    {{ return(validation_codes() | reject('equalto', 'DUPLICATE_CONFLICT') | list) }}
{% endmacro %}

{#- The boolean column that is true when a record fails `code`: has_schema_error, ... -#}
{% macro validation_flag(code) -%}
    has_{{ code | lower }}
{%- endmacro %}

{#- Builds the comma-separated list of failed codes, in the canonical order, NULL when none
    failed, from the flag columns of `codes` (default: every code). -#}
{% macro validation_error(codes=none) %}
    {%- set codes = validation_codes() if codes is none else codes -%}
    {%- set unknown = codes | reject('in', validation_codes()) | list -%}
    {%- if unknown -%}
        {{ exceptions.raise_compiler_error('validation_error(): unknown validation code(s) ' ~ unknown) }}
    {%- endif -%}
    nullif(concat_ws(','
    {%- for code in validation_codes() if code in codes %},
        case when {{ validation_flag(code) }} then '{{ code }}' end
    {%- endfor %}
    ), '')
{% endmacro %}
