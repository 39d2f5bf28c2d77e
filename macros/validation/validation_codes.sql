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

{#- Builds the comma-separated list of failed codes, in the canonical order, NULL when none failed.
    `flags` maps a code to a boolean SQL expression that is true when the row fails that rule;
    codes not in `flags` are not evaluated. -#}
{% macro validation_error(flags) %}
    {%- set unknown = flags.keys() | reject('in', validation_codes()) | list -%}
    {%- if unknown -%}
        {{ exceptions.raise_compiler_error('validation_error(): unknown validation code(s) ' ~ unknown) }}
    {%- endif -%}
    nullif(concat_ws(','
    {%- for code in validation_codes() if code in flags %},
        case when {{ flags[code] }} then '{{ code }}' end
    {%- endfor %}
    ), '')
{% endmacro %}
